package dev.strata.control.pool;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strata.control.local.LocalDynamo;
import dev.strata.control.model.AgentState;
import dev.strata.control.model.ComputeAgent;
import dev.strata.control.testing.ControlPlaneHarness;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.net.LoopbackPorts;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The warm pool's reaper on real dynalite, fed the event ECS sends when a pool task stops (a
 * recorded shape, {@code ecs-events/task-stopped.json}), with agents' API addresses on loopback:
 * a live agent is a listening socket, a dead one a port nobody listens on.
 */
class PoolReaperTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static LocalDynamo dynamo;
    ControlPlaneHarness h;
    StoppedTaskHandler handler;

    @BeforeAll
    static void startDynamo() {
        dynamo = LocalDynamo.start(dir);
    }

    @AfterAll
    static void stopDynamo() {
        if (dynamo != null) {
            dynamo.close();
        }
    }

    @BeforeEach
    void harness() {
        h = ControlPlaneHarness.on(dynamo);
        handler = new StoppedTaskHandler(h.controlPlane, PoolReaper.tcp(Duration.ofSeconds(1)));
    }

    @AfterEach
    void closeHarness() {
        h.close();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> stoppedTaskAt(String ip, String lastStatus) throws Exception {
        try (InputStream in = PoolReaperTest.class.getResourceAsStream("/ecs-events/task-stopped.json")) {
            Map<String, Object> e = JSON.readValue(in, Map.class);
            Map<String, Object> detail = (Map<String, Object>) e.get("detail");
            detail.put("lastStatus", lastStatus);
            for (Object a : (List<Object>) detail.get("attachments")) {
                for (Object kv : (List<Object>) ((Map<String, Object>) a).get("details")) {
                    Map<String, Object> pair = (Map<String, Object>) kv;
                    if (pair.get("name").equals("privateIPv4Address")) {
                        pair.put("value", ip);
                    }
                }
            }
            return e;
        }
    }

    @Test
    void theRecordedEventReadsAsAStoppedPoolTaskWithItsAddress() throws Exception {
        try (InputStream in = PoolReaperTest.class.getResourceAsStream("/ecs-events/task-stopped.json")) {
            @SuppressWarnings("unchecked")
            TaskStoppedEvent e = TaskStoppedEvent.of(JSON.readValue(in, Map.class));
            assertThat(e.stopped()).isTrue();
            assertThat(e.addresses()).containsExactly("10.0.3.17");
            assertThat(e.group()).isEqualTo("service:strata-test-compute-pool");
            assertThat(e.taskArn()).endsWith("/strata-test/9f2c4e1ab3d54c0e8d3f6a7b8c9d0e1f");
        }
    }

    @Test
    void anIdleAgentNobodyAnswersForIsRetiredAndOthersAreLeftAlone() throws Exception {
        int deadPort = LoopbackPorts.pickTcp();
        ComputeAgent dead = h.store.registerAgent(ComputeAgent.idle(NodeId.of("agent-dead"), "127.0.0.2:" + deadPort));
        ComputeAgent elsewhere = h.store.registerAgent(ComputeAgent.idle(NodeId.of("agent-other"),
                "127.0.0.3:" + deadPort));
        ComputeAgent claimed = h.store.registerAgent(ComputeAgent.idle(NodeId.of("agent-busy"), "127.0.0.2:" + (deadPort + 1)));
        claimed = h.store.updateAgent(claimed, claimed.claimedBy(EndpointId.of("ep-busy")));

        Map<String, Object> out = handler.handleRequest(stoppedTaskAt("127.0.0.2", "STOPPED"), null);
        assertThat(out).containsEntry("retired", List.of("agent-dead")).containsEntry("kept", List.of());
        assertThat(h.store.getAgent(dead.id()).orElseThrow().state()).isEqualTo(AgentState.RETIRED);
        assertThat(h.store.getAgent(elsewhere.id()).orElseThrow().state()).as("another task's agent")
                .isEqualTo(AgentState.IDLE);
        assertThat(h.store.getAgent(claimed.id()).orElseThrow().state()).as("a claimed agent is its workflow's")
                .isEqualTo(AgentState.CLAIMED);

        // replayed (EventBridge delivers at least once): nothing more to do
        assertThat(handler.handleRequest(stoppedTaskAt("127.0.0.2", "STOPPED"), null))
                .containsEntry("retired", List.of());
    }

    @Test
    void anAgentThatAnswersAtTheAddressIsANewTasksAndIsKept() throws Exception {
        try (ServerSocket live = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.4"))) {
            ComputeAgent a = h.store.registerAgent(ComputeAgent.idle(NodeId.of("agent-live"),
                    "127.0.0.4:" + live.getLocalPort()));
            Map<String, Object> out = handler.handleRequest(stoppedTaskAt("127.0.0.4", "STOPPED"), null);
            assertThat(out).containsEntry("kept", List.of("agent-live")).containsEntry("retired", List.of());
            assertThat(h.store.getAgent(a.id()).orElseThrow().state()).isEqualTo(AgentState.IDLE);
        }
    }

    @Test
    void eventsThatAreNotAStoppedTaskWithAnAddressChangeNothing() throws Exception {
        int deadPort = LoopbackPorts.pickTcp();
        ComputeAgent a = h.store.registerAgent(ComputeAgent.idle(NodeId.of("agent-x"), "127.0.0.5:" + deadPort));
        List<Map<String, Object>> events = new ArrayList<>();
        events.add(stoppedTaskAt("127.0.0.5", "RUNNING"));
        events.add(stoppedTaskAt("", "STOPPED"));
        events.add(Map.of());
        events.add(Map.of("detail", "not an object"));
        Map<String, Object> odd = new HashMap<>(Map.of("detail", Map.of("lastStatus", "STOPPED", "attachments",
                List.of(Map.of("details", List.of(Map.of("name", "privateIPv4Address", "value", 42)))))));
        events.add(odd);
        for (Map<String, Object> e : events) {
            assertThat(handler.handleRequest(e, null)).as(e.toString()).containsEntry("ignored", true);
        }
        assertThat(h.store.getAgent(a.id()).orElseThrow().state()).isEqualTo(AgentState.IDLE);
    }
}
