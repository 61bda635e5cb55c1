package dev.strata.control.handlers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strata.control.EndpointBusyException;
import dev.strata.control.StepFailedException;
import dev.strata.control.TransientStepException;
import dev.strata.control.local.LocalDynamo;
import dev.strata.control.model.AgentState;
import dev.strata.control.model.BranchState;
import dev.strata.control.model.ComputeAgent;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationKind;
import dev.strata.control.model.OperationState;
import dev.strata.control.runtime.ControlPlane;
import dev.strata.control.service.StepIds;
import dev.strata.control.testing.ControlPlaneHarness;
import dev.strata.control.testing.RecordingStorage;
import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.ProjectId;
import dev.strata.pgcore.id.TimelineId;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every handler fed its JSON event fixture ({@code src/test/resources/events/<function>.json}, the
 * payload the workflow's Task state sends), on real dynalite with the recording compute and storage
 * seams; each step fed again to check that a replay returns the same result and changes nothing.
 */
class StepHandlersTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final ProjectId PROJECT = ProjectId.of("p-fixture");
    static final BranchId BRANCH = BranchId.of("br-fixture");
    static final TimelineId TIMELINE = TimelineId.parse("0f1e2d3c4b5a69788796a5b4c3d2e1f0");
    static final EndpointId ENDPOINT = EndpointId.of("ep-fixture");
    static final NodeId AGENT = NodeId.of("agent-fixture");
    static final OperationId WAKE = OperationId.of("op-fixturewake");
    static final OperationId SUSPEND = OperationId.of("op-fixturesuspend");
    static final OperationId SKIP = OperationId.of("op-fixtureskip");
    static final OperationId CREATE = OperationId.of("op-fixtureproject");
    static final ProjectId NEW_PROJECT = ProjectId.of("p-fixturenew");

    @TempDir
    static Path dir;
    static LocalDynamo dynamo;

    ControlPlaneHarness h;
    Map<String, StepHandler> handlers;

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
        handlers = StepHandlers.all(h.controlPlane);
    }

    @AfterEach
    void closeHarness() {
        h.close();
    }

    static Map<String, Object> fixture(String function) {
        try (InputStream in = StepHandlersTest.class.getResourceAsStream("/events/" + function + ".json")) {
            assertThat(in).as("fixture for " + function).isNotNull();
            @SuppressWarnings("unchecked")
            Map<String, Object> m = JSON.readValue(in, Map.class);
            return m;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Map<String, Object> call(String function) {
        return call(function, fixture(function));
    }

    Map<String, Object> call(String function, Map<String, Object> input) {
        return handlers.get(function).handleRequest(input, null);
    }

    /** Calls the step twice with its fixture: the replay must return the same result. */
    Map<String, Object> callTwice(String function) {
        Map<String, Object> first = call(function);
        assertThat(call(function)).as("replay of " + function).isEqualTo(first);
        return first;
    }

    void seedEndpoint() {
        seedEndpointWithoutAgents();
        h.idleAgent(AGENT);
    }

    void seedEndpointWithoutAgents() {
        h.project(PROJECT);
        h.readyBranch(PROJECT, BRANCH, TIMELINE);
        h.endpoint(PROJECT, BRANCH, ENDPOINT);
    }

    void wake() {
        h.schedule(WAKE, OperationKind.START_COMPUTE, PROJECT, ENDPOINT);
        assertThat(callTwice("strata-claim-agent")).isEqualTo(Map.of("agentId", AGENT.toString()));
        assertThat(call("strata-elect")).isEqualTo(Map.of("term", 1L, "startLsn", RecordingStorage.START_LSN.toString()));
        assertThat(callTwice("strata-start-postgres")).isEqualTo(Map.of("address", "127.0.0.1:55432"));
        assertThat(callTwice("strata-mark-endpoint-running")).isEqualTo(Map.of("endpointId", ENDPOINT.toString(),
                "state", "RUNNING", "address", "127.0.0.1:55432"));
    }

    @Test
    void everyFunctionHasAHandlerAndAFixture() throws IOException {
        Path events = Path.of("src/test/resources/events");
        List<String> fixtures;
        try (Stream<Path> s = Files.list(events)) {
            fixtures = s.map(p -> p.getFileName().toString().replace(".json", "")).sorted().toList();
        }
        assertThat(handlers.keySet()).hasSize(30).containsExactlyInAnyOrderElementsOf(fixtures);
    }

    @Test
    void wakeStepsFromTheirFixtures() {
        seedEndpoint();
        wake();
        Endpoint e = h.endpoint(ENDPOINT);
        assertThat(e.state()).isEqualTo(EndpointState.RUNNING);
        assertThat(e.agent()).contains(AGENT);
        assertThat(e.operation()).contains(WAKE);
        assertThat(h.agent(AGENT).claimedBy()).contains(ENDPOINT);
        Operation op = h.operation(WAKE);
        assertThat(op.state()).isEqualTo(OperationState.SUCCEEDED);
        assertThat(op.executionArn()).contains(fixture("strata-claim-agent").get("executionArn").toString());
        assertThat(h.compute.runningOn(ENDPOINT)).contains(AGENT);
        // the replays above did not start a second compute
        assertThat(h.compute.runningCount()).isEqualTo(1);
    }

    @Test
    void suspendStepsFromTheirFixtures() {
        seedEndpoint();
        wake();
        h.schedule(SUSPEND, OperationKind.SUSPEND_COMPUTE, PROJECT, ENDPOINT);
        assertThat(callTwice("strata-check-activity")).isEqualTo(Map.of("idle", true, "sessions", 0));
        assertThat(callTwice("strata-mark-endpoint-suspending")).isEqualTo(Map.of("endpointId", ENDPOINT.toString(),
                "state", "SUSPENDING"));
        assertThat(callTwice("strata-stop-postgres")).isEqualTo(Map.of("stopped", true));
        assertThat(h.compute.runningOn(ENDPOINT)).isEmpty();
        assertThat(callTwice("strata-release-agent")).isEqualTo(Map.of("agentId", AGENT.toString(), "agentState", "IDLE"));
        assertThat(callTwice("strata-mark-endpoint-suspended")).isEqualTo(Map.of("endpointId", ENDPOINT.toString(),
                "state", "SUSPENDED"));
        assertThat(h.endpoint(ENDPOINT).operation()).isEmpty();
        assertThat(h.operation(SUSPEND).state()).isEqualTo(OperationState.SUCCEEDED);
        assertThat(h.agent(AGENT).state()).isEqualTo(AgentState.IDLE);
    }

    @Test
    void aSuspendOfABusyComputeCompletesAsSkipped() {
        seedEndpoint();
        wake();
        h.compute.setSessions(ENDPOINT, 2);
        Operation skip = h.schedule(SKIP, OperationKind.SUSPEND_COMPUTE, PROJECT, ENDPOINT);
        h.store.updateOperation(skip, skip.running("arn:aws:states:us-east-1:000000000000:execution:x:y",
                skip.createdAt()));
        assertThat(callTwice("strata-complete-operation")).isEqualTo(Map.of("operationId", SKIP.toString(),
                "state", "SUCCEEDED", "outcome", "skipped"));
        assertThat(h.endpoint(ENDPOINT).state()).isEqualTo(EndpointState.RUNNING);
    }

    @Test
    void markEndpointFailedQuarantinesTheAgent() {
        seedEndpoint();
        wake();
        h.schedule(SUSPEND, OperationKind.SUSPEND_COMPUTE, PROJECT, ENDPOINT);
        call("strata-check-activity");
        call("strata-mark-endpoint-suspending");
        assertThat(callTwice("strata-mark-endpoint-failed")).isEqualTo(Map.of("endpointId", ENDPOINT.toString(),
                "state", "SUSPENDED"));
        assertThat(h.agent(AGENT).state()).isEqualTo(AgentState.RETIRED);
        assertThat(h.compute.retired()).containsExactly(AGENT);
    }

    @Test
    void recordFailureFromItsFixture() {
        seedEndpoint();
        h.schedule(WAKE, OperationKind.START_COMPUTE, PROJECT, ENDPOINT);
        assertThat(callTwice("strata-record-operation-failure")).isEqualTo(Map.of("operationId", WAKE.toString(),
                "state", "FAILED"));
        assertThat(h.operation(WAKE).error()).hasValueSatisfying(
                e -> assertThat(e).startsWith("dev.strata.control.EndpointBusyException: ").contains("held by"));
    }

    @Test
    void createProjectStepsFromTheirFixtures() {
        Operation op = h.schedule(CREATE, OperationKind.CREATE_PROJECT, NEW_PROJECT);
        Map<String, Object> created = callTwice("strata-create-project-record");
        assertThat(created).isEqualTo(Map.of("branchId", StepIds.mainBranch(CREATE).toString(),
                "timelineId", StepIds.mainTimeline(CREATE).toString()));
        // the fixtures downstream carry these ids, as the workflow passes them on
        assertThat(fixture("strata-create-timeline")).containsAllEntriesOf(created);
        assertThat(callTwice("strata-create-timeline")).containsEntry("timelineId", created.get("timelineId"));
        assertThat(h.storage.timelines()).containsExactly(StepIds.mainTimeline(CREATE));
        assertThat(callTwice("strata-create-endpoint")).isEqualTo(Map.of("endpointId",
                StepIds.defaultEndpoint(CREATE).toString(), "state", "SUSPENDED"));
        assertThat(callTwice("strata-activate-project")).isEqualTo(Map.of("branchId", created.get("branchId"),
                "state", "READY"));
        assertThat(h.store.getProject(NEW_PROJECT)).hasValueSatisfying(p -> {
            assertThat(p.name()).isEqualTo("fixture project");
            assertThat(p.createdAt()).isEqualTo(op.createdAt());
        });
        assertThat(h.operation(CREATE).state()).isEqualTo(OperationState.SUCCEEDED);
    }

    @Test
    void createProjectCompensationsFromTheirFixtures() {
        h.schedule(CREATE, OperationKind.CREATE_PROJECT, NEW_PROJECT);
        call("strata-create-project-record");
        call("strata-create-timeline");
        call("strata-create-endpoint");
        assertThat(callTwice("strata-delete-timeline")).containsEntry("deleted", true);
        assertThat(h.storage.timelines()).isEmpty();
        assertThat(callTwice("strata-mark-project-failed")).isEqualTo(Map.of("branchState", "DELETING"));
        assertThat(h.store.getEndpoint(StepIds.defaultEndpoint(CREATE))).isEmpty();
        assertThat(h.store.getBranch(NEW_PROJECT, StepIds.mainBranch(CREATE)).orElseThrow().state())
                .isEqualTo(BranchState.DELETING);
    }

    @Test
    void anExistingProjectIsRefusedPermanently() {
        h.project(NEW_PROJECT);
        h.schedule(CREATE, OperationKind.CREATE_PROJECT, NEW_PROJECT);
        assertThatThrownBy(() -> call("strata-create-project-record")).isInstanceOf(StepFailedException.class)
                .hasMessageContaining("already exists");
    }

    @Test
    void anEmptyPoolLaunchesAnAgentOnce() {
        seedEndpointWithoutAgents();
        h.schedule(WAKE, OperationKind.START_COMPUTE, PROJECT, ENDPOINT);
        Map<String, Object> claimed = callTwice("strata-claim-agent");
        NodeId launched = StepIds.launchedAgent(WAKE);
        assertThat(claimed).isEqualTo(Map.of("agentId", launched.toString()));
        assertThat(h.compute.faults().count("launchAgent")).isEqualTo(1);
        assertThat(h.agent(launched).claimedBy()).contains(ENDPOINT);
    }

    @Test
    void aLaunchedAgentThatAnotherWakeClaimedFirstIsFollowedByTheNext() {
        seedEndpointWithoutAgents();
        h.schedule(WAKE, OperationKind.START_COMPUTE, PROJECT, ENDPOINT);
        // on AWS the launched agent joins the pool by itself: a wake whose pool was empty too took it
        EndpointId other = EndpointId.of("ep-other");
        NodeId first = StepIds.launchedAgent(WAKE, 1);
        h.store.registerAgent(new ComputeAgent(first, "10.40.7.9:3080", AgentState.CLAIMED,
                Optional.of(other), 0));

        Map<String, Object> claimed = callTwice("strata-claim-agent");

        NodeId second = StepIds.launchedAgent(WAKE, 2);
        assertThat(claimed).isEqualTo(Map.of("agentId", second.toString()));
        assertThat(h.compute.faults().count("launchAgent")).isEqualTo(1);
        assertThat(h.agent(second).claimedBy()).contains(ENDPOINT);
        assertThat(h.agent(first).claimedBy()).as("the other wake keeps its agent").contains(other);
    }

    @Test
    void aWakeWhoseLaunchedAgentsAreAllTakenRetriesThePool() {
        seedEndpointWithoutAgents();
        h.schedule(WAKE, OperationKind.START_COMPUTE, PROJECT, ENDPOINT);
        for (int n = 1; n <= 3; n++) {
            h.store.registerAgent(new ComputeAgent(StepIds.launchedAgent(WAKE, n),
                    "10.40.7." + n + ":3080", AgentState.CLAIMED, Optional.of(EndpointId.of("ep-other" + n)), 0));
        }

        assertThatThrownBy(() -> call("strata-claim-agent")).isInstanceOf(TransientStepException.class)
                .hasMessageContaining("were claimed by other wakes");
        assertThat(h.compute.faults().count("launchAgent")).isZero();
        assertThat(h.endpoint(ENDPOINT).state()).isEqualTo(EndpointState.SUSPENDED);
    }

    @Test
    void errorsAreNamedAsTheWorkflowsMatchThem() {
        seedEndpoint();
        h.schedule(WAKE, OperationKind.START_COMPUTE, PROJECT, ENDPOINT);
        // a missing field: permanent, names the function and the field
        Map<String, Object> noAgent = new HashMap<>(fixture("strata-elect"));
        noAgent.remove("agentId");
        assertThatThrownBy(() -> call("strata-elect", noAgent)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("strata-elect: input field 'agentId' is missing");
        // a step before its time: the endpoint is not held by the operation
        assertThatThrownBy(() -> call("strata-elect")).isInstanceOf(EndpointBusyException.class);
        call("strata-claim-agent");
        // a dependency that did not answer: transient, passed through for the Retry
        h.storage.faults().failNext("elect", 1, () -> new TransientStepException("safekeepers did not answer"));
        assertThatThrownBy(() -> call("strata-elect")).isInstanceOf(TransientStepException.class);
        assertThat(call("strata-elect")).containsKey("term");
        // an operation of another kind
        assertThatThrownBy(() -> call("strata-check-activity", Map.of("operationId", WAKE.toString(),
                "endpointId", ENDPOINT.toString(), "agentId", AGENT.toString(), "executionArn", "x")))
                .isInstanceOf(StepFailedException.class).hasMessageContaining("START_COMPUTE");
    }

    @Test
    void concurrentClaimsOfOneEndpointLeaveOneWinnerAndEveryOtherAgentIdle() throws Exception {
        h.project(PROJECT);
        h.readyBranch(PROJECT, BRANCH, TIMELINE);
        int rounds = 5;
        int n = 4;
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            for (int round = 0; round < rounds; round++) {
                EndpointId endpoint = EndpointId.of("ep-race" + round);
                h.endpoint(PROJECT, BRANCH, endpoint);
                h.idleAgent(NodeId.of("agent-" + round + "a"));
                h.idleAgent(NodeId.of("agent-" + round + "b"));
                List<Callable<Object>> claims = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    OperationId op = OperationId.of("op-race" + round + "x" + i);
                    h.schedule(op, OperationKind.START_COMPUTE, PROJECT, endpoint);
                    Map<String, Object> in = new HashMap<>(fixture("strata-claim-agent"));
                    in.put("operationId", op.toString());
                    in.put("endpointId", endpoint.toString());
                    in.put("executionArn", "arn:local:" + op);
                    claims.add(() -> {
                        try {
                            return call("strata-claim-agent", in);
                        } catch (RuntimeException e) {
                            return e;
                        }
                    });
                }
                List<Object> results = new ArrayList<>();
                for (Future<Object> f : pool.invokeAll(claims, 30, TimeUnit.SECONDS)) {
                    results.add(f.get());
                }
                List<Object> won = results.stream().filter(r -> r instanceof Map).toList();
                assertThat(won).as("round " + round).hasSize(1);
                // the others lost on the endpoint's conditional write (or read it held): none changed it
                assertThat(results.stream().filter(r -> !(r instanceof Map)))
                        .allSatisfy(r -> assertThat(r).isInstanceOf(EndpointBusyException.class));
                Endpoint e = h.endpoint(endpoint);
                assertThat(e.state()).isEqualTo(EndpointState.WAKING);
                String winner = (String) ((Map<?, ?>) won.get(0)).get("agentId");
                assertThat(e.agent()).contains(NodeId.of(winner));
                // every agent the endpoint does not hold (launched ones too, if the pool ran dry) is back in the pool
                assertThat(h.store.listAgents(AgentState.CLAIMED)).filteredOn(a -> a.claimedBy().equals(
                        Optional.of(endpoint))).extracting(a -> a.id().toString()).as("round " + round)
                        .containsExactly(winner);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void snapStartHooksCloseAndReopenTheClient() {
        seedEndpoint();
        ControlPlane cp = h.controlPlane;
        assertThat(cp.isOpen()).isTrue();
        int before = cp.clientsOpened();
        cp.beforeCheckpoint(null);
        assertThat(cp.isOpen()).isFalse();
        cp.afterRestore(null);
        assertThat(cp.isOpen()).isTrue();
        assertThat(cp.clientsOpened()).isEqualTo(before + 1);
        h.schedule(WAKE, OperationKind.START_COMPUTE, PROJECT, ENDPOINT);
        assertThat(call("strata-claim-agent")).containsEntry("agentId", AGENT.toString());
        // a call that comes before afterRestore opens a client itself
        cp.beforeCheckpoint(null);
        assertThat(call("strata-claim-agent")).containsEntry("agentId", AGENT.toString());
        assertThat(cp.clientsOpened()).isEqualTo(before + 2);
    }

    @Test
    void lambdasConstructorOpensNoConnection() {
        // what SnapStart snapshots: the handler constructed from the environment, nothing opened
        ClaimAgentHandler handler = new ClaimAgentHandler();
        assertThat(handler.functionName()).isEqualTo("strata-claim-agent");
        assertThat(ControlPlane.fromEnvironment().isOpen()).isFalse();
        assertThat(ControlPlane.fromEnvironment().clientsOpened()).isZero();
    }
}
