package dev.strata.control.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.control.AgentStartingException;
import dev.strata.control.StepFailedException;
import dev.strata.control.TransientStepException;
import dev.strata.control.model.AgentState;
import dev.strata.control.model.ComputeAgent;
import dev.strata.control.testing.MotoServer;
import dev.strata.pgcore.id.NodeId;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ecs.EcsClient;
import software.amazon.awssdk.services.ecs.model.Compatibility;
import software.amazon.awssdk.services.ecs.model.ContainerDefinition;
import software.amazon.awssdk.services.ecs.model.DesiredStatus;
import software.amazon.awssdk.services.ecs.model.KeyValuePair;
import software.amazon.awssdk.services.ecs.model.NetworkMode;
import software.amazon.awssdk.services.ecs.model.Task;

/**
 * On-demand compute tasks ({@link EcsPoolLauncher} with {@link BurstSettings}) against moto's ECS:
 * the RunTask a wake makes when the pool is empty (the pool's family, the burst group, the agent id
 * and idle exit in the container's environment, the compute subnets), that a retry finds the task
 * it started instead of starting another, the limit, a task that stopped before its agent joined,
 * and retiring an on-demand agent by its address. moto runs no container: the tasks are records,
 * which is what the launcher reads. Skipped, with the reason, where {@code moto_server} is absent.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class EcsOnDemandTasksTest {

    private static final String FAMILY = "strata-t-compute";

    @TempDir
    static Path dir;

    private static MotoServer moto;
    private static EcsClient ecs;
    private static String subnet;
    private static String securityGroup;
    private static int clusters;

    @BeforeAll
    static void start() throws Exception {
        moto = MotoServer.startOrSkip(dir, "on-demand compute tasks (ECS RunTask)");
        ecs = moto.client(EcsClient.builder(), Region.US_EAST_1);
        // moto's default VPC: a Fargate task's network interface needs a subnet and a group that exist
        subnet = ec2(moto.endpoint(), "DescribeSubnets", "subnetId");
        securityGroup = ec2(moto.endpoint(), "DescribeSecurityGroups", "groupId");
        ecs.registerTaskDefinition(b -> b.family(FAMILY).networkMode(NetworkMode.AWSVPC)
                .requiresCompatibilities(Compatibility.FARGATE).cpu("1024").memory("4096")
                // a container memory of its own: moto sums the containers' (the stack sets the task's only)
                .containerDefinitions(ContainerDefinition.builder().name(EcsPoolLauncher.CONTAINER)
                        .image("strata-compute:test").memory(4096).essential(true).build()));
    }

    @AfterAll
    static void stop() {
        if (ecs != null) {
            ecs.close();
        }
        if (moto != null) {
            moto.close();
        }
    }

    /** The first {@code field} of an EC2 query API answer (moto speaks it; the tests have no EC2 SDK). */
    private static String ec2(URI endpoint, String action, String field) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(endpoint)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ec2/aws4_request, "
                        + "SignedHeaders=host, Signature=0")
                .timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString("Action=" + action + "&Version=2016-11-15")).build();
        try (HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            String body = http.send(req, HttpResponse.BodyHandlers.ofString()).body();
            Matcher m = Pattern.compile("<" + field + ">([^<]+)</" + field + ">").matcher(body);
            assertThat(m.find()).as(action + " names a " + field + ": " + body).isTrue();
            return m.group(1);
        }
    }

    /** A launcher on a cluster of its own (each test counts its own tasks). */
    private record Pool(EcsPoolLauncher launcher, String cluster) {

        static Pool withLimit(int max) {
            String cluster = "strata-t-" + (++clusters);
            ecs.createCluster(b -> b.clusterName(cluster));
            return new Pool(new EcsPoolLauncher(ecs, cluster, "strata-t-compute-pool",
                    Optional.of(new BurstSettings(FAMILY, List.of(subnet), List.of(securityGroup), max, 15))), cluster);
        }

        void launch(NodeId id) {
            launcher.launch(id);
        }

        /** As ECS allows: startedBy is a ListTasks filter only on its own, so the family's, picked here. */
        List<Task> startedFor(NodeId id, DesiredStatus status) {
            List<String> arns = ecs.listTasks(b -> b.cluster(cluster).family(FAMILY).desiredStatus(status)).taskArns();
            return arns.isEmpty() ? List.of() : ecs.describeTasks(b -> b.cluster(cluster).tasks(arns)).tasks().stream()
                    .filter(t -> id.toString().equals(t.startedBy())).toList();
        }

        void stop(Task t, String reason) {
            ecs.stopTask(b -> b.cluster(cluster).task(t.taskArn()).reason(reason));
        }
    }

    @Test
    void anEmptyPoolStartsOneTaskForTheWakeAndItsRetriesFindIt() {
        Pool l = Pool.withLimit(3);
        NodeId id = NodeId.of("agent-burst-1");

        assertThatThrownBy(() -> l.launch(id)).isInstanceOf(AgentStartingException.class)
                .hasMessageContaining("started on-demand compute task").hasMessageContaining("1 of at most 3");
        List<Task> started = l.startedFor(id, DesiredStatus.RUNNING);
        assertThat(started).singleElement().satisfies(t -> {
            assertThat(t.group()).isEqualTo(EcsPoolLauncher.BURST_GROUP);
            assertThat(t.taskDefinitionArn()).contains(":task-definition/" + FAMILY + ":");
            assertThat(t.launchTypeAsString()).isEqualTo("FARGATE");
            Map<String, String> env = t.overrides().containerOverrides().get(0).environment().stream()
                    .collect(Collectors.toMap(KeyValuePair::name, KeyValuePair::value));
            assertThat(t.overrides().containerOverrides().get(0).name()).isEqualTo(EcsPoolLauncher.CONTAINER);
            assertThat(env).containsEntry(EcsPoolLauncher.AGENT_ID_ENV, "agent-burst-1")
                    .containsEntry(EcsPoolLauncher.IDLE_EXIT_ENV, "15");
            assertThat(t.attachments().get(0).details()).contains(
                    KeyValuePair.builder().name("subnetId").value(subnet).build());
        });

        // the wake's retries while the task starts: the same task, not a second one
        for (int i = 0; i < 3; i++) {
            assertThatThrownBy(() -> l.launch(id)).isInstanceOf(AgentStartingException.class)
                    .hasMessageContaining(started.get(0).taskArn()).hasMessageContaining("waiting for agent agent-burst-1");
        }
        assertThat(l.startedFor(id, DesiredStatus.RUNNING)).hasSize(1);
    }

    @Test
    void atTheLimitAWakeWaitsForThePoolAndIsToldWhatToRaise() {
        Pool l = Pool.withLimit(2);
        for (String id : List.of("agent-b1", "agent-b2")) {
            assertThatThrownBy(() -> l.launch(NodeId.of(id))).isInstanceOf(AgentStartingException.class);
        }

        assertThatThrownBy(() -> l.launch(NodeId.of("agent-b3")))
                .isInstanceOf(TransientStepException.class).isNotInstanceOf(AgentStartingException.class)
                .hasMessageContaining("2 on-demand compute tasks run already").hasMessageContaining("computeBurstMax");
        assertThat(l.startedFor(NodeId.of("agent-b3"), DesiredStatus.RUNNING)).isEmpty();

        // one of them stopped (its agent idled out): room for the next wake's
        Task first = l.startedFor(NodeId.of("agent-b1"), DesiredStatus.RUNNING).get(0);
        l.stop(first, "Essential container in task exited");
        assertThatThrownBy(() -> l.launch(NodeId.of("agent-b3"))).isInstanceOf(AgentStartingException.class)
                .hasMessageContaining("2 of at most 2");
    }

    @Test
    void aTaskThatStoppedBeforeItsAgentJoinedFailsTheWakeWithTheReason() {
        Pool l = Pool.withLimit(3);
        NodeId id = NodeId.of("agent-dies");
        assertThatThrownBy(() -> l.launch(id)).isInstanceOf(AgentStartingException.class);
        Task t = l.startedFor(id, DesiredStatus.RUNNING).get(0);
        l.stop(t, "CannotPullContainerError: pull image manifest has been retried 5 time(s)");

        assertThatThrownBy(() -> l.launch(id)).isInstanceOf(StepFailedException.class)
                .hasMessageContaining("stopped before its agent joined the pool")
                .hasMessageContaining("CannotPullContainerError");
        assertThat(l.startedFor(id, DesiredStatus.RUNNING)).as("no second task for the same wake").isEmpty();
    }

    @Test
    void retiringAnOnDemandAgentStopsTheTaskAtItsAddress() {
        Pool l = Pool.withLimit(3);
        NodeId id = NodeId.of("agent-retired");
        assertThatThrownBy(() -> l.launch(id)).isInstanceOf(AgentStartingException.class);
        Task t = l.startedFor(id, DesiredStatus.RUNNING).get(0);
        String ip = t.attachments().get(0).details().stream().filter(kv -> kv.name().equals("privateIPv4Address"))
                .findFirst().orElseThrow().value();

        l.launcher().retire(new ComputeAgent(id, ip + ":3080", AgentState.RETIRED, Optional.empty(), 3));

        assertThat(l.startedFor(id, DesiredStatus.RUNNING)).isEmpty();
        assertThat(l.startedFor(id, DesiredStatus.STOPPED)).singleElement()
                .satisfies(s -> assertThat(s.stoppedReason()).contains("agent-retired retired by the control plane"));
    }
}
