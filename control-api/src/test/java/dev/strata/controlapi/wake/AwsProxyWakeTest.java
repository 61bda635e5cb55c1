package dev.strata.controlapi.wake;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strata.control.local.LocalDynamo;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationState;
import dev.strata.control.service.ComputeSteps;
import dev.strata.control.testing.ControlPlaneHarness;
import dev.strata.control.testing.MotoServer;
import dev.strata.controlapi.StepFunctionsLauncher;
import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.ProjectId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.statemachines.Workflow;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sfn.SfnClient;
import software.amazon.awssdk.services.sfn.model.ExecutionListItem;

/**
 * The proxy as it runs on AWS ({@link AwsProxyMain}, started from the same arguments and
 * environment variables the ECS task gets) against real parts: the metadata in dynalite, Step
 * Functions in moto's server, a real PostgreSQL 17 as the compute and the real {@code psql} as the
 * client. moto records executions but runs none (its Lambda tasks need Docker), so the test plays
 * the wake workflow's part: it drives the same step services the workflow's Task states call
 * ({@link ComputeSteps}: ClaimAgent, Elect, MarkRunning; on the failure path the Catch's ReleaseAgent,
 * MarkEndpointSuspended and RecordOperationFailure; for a suspend CheckActivity, MarkSuspending,
 * StopPostgres, ReturnAgent, MarkSuspended), in the workflow's order, with the execution ARN moto
 * gave. StartPostgres is the test's PostgreSQL, whose address MarkRunning records.
 */
class AwsProxyWakeTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path PSQL = Path.of("/usr/bin/psql");
    private static final Duration WAIT = Duration.ofSeconds(180);

    @TempDir
    static Path dir;
    static LocalDynamo dynamo;
    static MotoServer moto;
    static SfnClient sfn;
    static PostgresServer compute;
    static ControlPlaneHarness h;
    static AwsProxyMain.Started proxy;
    static String wakeArn;
    static String suspendArn;
    static final java.util.concurrent.atomic.AtomicInteger AGENTS = new java.util.concurrent.atomic.AtomicInteger();

    @BeforeAll
    static void start() throws IOException {
        Assumptions.assumeTrue(MotoServer.executable().isPresent(), "moto_server is not on the PATH");
        Assumptions.assumeTrue(Files.isExecutable(PSQL), "psql is not installed");
        dynamo = LocalDynamo.start(dir.resolve("dynamo"));
        moto = MotoServer.start(dir.resolve("moto.log"));
        sfn = SfnClient.builder().endpointOverride(moto.endpoint()).region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
                .httpClient(UrlConnectionHttpClient.create()).build();
        wakeArn = stateMachine("strata-test-wake", Workflow.WAKE);
        suspendArn = stateMachine("strata-test-suspend", Workflow.SUSPEND);
        compute = PostgresServer.builder().setting("fsync", "off").start();
        h = ControlPlaneHarness.on(dynamo);

        Map<String, String> env = new HashMap<>();
        env.put("STRATA_METADATA_TABLE", h.controlPlane.table());
        env.put("STRATA_DYNAMODB_ENDPOINT", dynamo.endpoint().toString());
        env.put(AwsProxyMain.SFN_ENDPOINT_ENV, moto.endpoint().toString());
        env.put(StepFunctionsLauncher.arnVariable(Workflow.WAKE), wakeArn);
        env.put(StepFunctionsLauncher.arnVariable(Workflow.SUSPEND), suspendArn);
        env.put("AWS_REGION", "us-east-1");
        // a loaded 2-core machine may take longer than the default 30 s to play the workflow's part
        proxy = AwsProxyMain.start(new String[]{"--listen", "127.0.0.1", "--port", "0", "--wake-timeout-seconds", "120"},
                env);
    }

    private static String stateMachine(String name, Workflow w) {
        return sfn.createStateMachine(b -> b.name(name).definition(w.definition("us-east-1", MotoServer.ACCOUNT, "live"))
                .roleArn("arn:aws:iam::" + MotoServer.ACCOUNT + ":role/strata-workflows")).stateMachineArn();
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
        if (h != null) {
            h.close();
        }
        if (compute != null) {
            compute.close();
        }
        if (sfn != null) {
            sfn.close();
        }
        if (moto != null) {
            moto.close();
        }
        if (dynamo != null) {
            dynamo.close();
        }
    }

    /** A SUSPENDED endpoint on the READY main branch of a project of its own, and an IDLE agent in the pool for it. */
    private static Endpoint suspendedEndpoint() {
        ProjectId project = h.project(ProjectId.random()).id();
        BranchId branch = BranchId.random();
        h.readyBranch(project, branch, TimelineId.random());
        h.idleAgent(NodeId.of("agent-" + AGENTS.incrementAndGet()));
        return h.endpoint(project, branch, EndpointId.random());
    }

    @Test
    void wakesASuspendedEndpointThroughTheWakeStateMachineAndRelaysToItsCompute() throws Exception {
        Endpoint ep = suspendedEndpoint();
        Process client = psql(ep.id().toString(), "select 'woken through ' || 40 + 2");

        ExecutionListItem execution = awaitExecution(ep.id());
        OperationId op = OperationId.of(execution.name());
        JsonNode input = JSON.readTree(sfn.describeExecution(b -> b.executionArn(execution.executionArn())).input());
        assertThat(input.get("operationId").asText()).isEqualTo(op.toString());
        assertThat(input.get("endpointId").asText()).isEqualTo(ep.id().toString());
        assertThat(input.get("projectId").asText()).isEqualTo(ep.project().toString());
        assertThat(input.get("branchId").asText()).isEqualTo(ep.branch().toString());
        assertThat(input.get("recoversExecution").asText()).isEmpty();
        assertThat(h.operation(op).state()).isEqualTo(OperationState.SCHEDULED);
        assertThat(client.isAlive()).as("the client waits for the wake").isTrue();

        // the wake workflow's Task states, in its order
        ComputeSteps steps = h.controlPlane.computeSteps();
        NodeId agent = steps.claimAgent(op, ep.id(), ep.project(), ep.branch(), execution.executionArn(), Optional.empty());
        steps.elect(op, ep.id(), ep.branch(), agent);
        steps.markRunning(op, ep.id(), agent, "127.0.0.1:" + compute.port());

        Result r = finish(client);
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.stdout()).contains("woken through 42");
        assertThat(h.operation(op).state()).isEqualTo(OperationState.SUCCEEDED);
        assertThat(h.endpoint(ep.id()).state()).isEqualTo(EndpointState.RUNNING);

        // a second connection finds it running: no new execution
        Result again = finish(psql(ep.id().toString(), "select 'again'"));
        assertThat(again.exit()).as(again.stderr()).isZero();
        assertThat(executionsOf(ep.id())).hasSize(1);
    }

    @Test
    void aFailedWakeOperationGivesTheClientItsErrorAtOnce() throws Exception {
        Endpoint ep = suspendedEndpoint();
        Process client = psql(ep.id().toString(), "select 1");
        ExecutionListItem execution = awaitExecution(ep.id());
        OperationId op = OperationId.of(execution.name());

        // StartPostgres failed: the Catch's compensation, then RecordOperationFailure
        ComputeSteps steps = h.controlPlane.computeSteps();
        NodeId agent = steps.claimAgent(op, ep.id(), ep.project(), ep.branch(), execution.executionArn(), Optional.empty());
        steps.releaseAgent(op, ep.id(), agent);
        steps.markSuspended(op, ep.id());
        h.controlPlane.operations().fail(op, "StartPostgres: the basebackup could not be fetched (test)");

        Result r = finish(client);
        assertThat(r.exit()).isNotZero();
        assertThat(r.stderr()).contains("wake operation " + op + " failed")
                .contains("the basebackup could not be fetched (test)");
        assertThat(h.endpoint(ep.id()).state()).isEqualTo(EndpointState.SUSPENDED);
        assertThat(executionsOf(ep.id())).as("a failed operation is a definitive answer: no retry storm").hasSize(1);
    }

    @Test
    void unknownAndHostileEndpointNamesGetClearErrorsAndTheProxyKeepsServing() throws Exception {
        int executionsBefore = sfn.listExecutions(b -> b.stateMachineArn(wakeArn)).executions().size();
        Result unknown = finish(psql(EndpointId.random().toString(), "select 1"));
        assertThat(unknown.exit()).isNotZero();
        assertThat(unknown.stderr()).contains("does not exist");

        for (String hostile : List.of("../../etc/passwd", "ep-" + "x".repeat(300), "ep-a'b\"c", "ep-é")) {
            Result r = finish(psql(hostile, "select 1"));
            assertThat(r.exit()).as(hostile).isNotZero();
            assertThat(r.stderr()).as(hostile).containsPattern("endpoint|invalid");
        }
        assertThat(sfn.listExecutions(b -> b.stateMachineArn(wakeArn)).executions())
                .as("nothing was started for an unknown or bad name").hasSize(executionsBefore);

        // still serving: a known endpoint wakes and relays
        Endpoint ep = suspendedEndpoint();
        Process client = psql(ep.id().toString(), "select 'still serving'");
        ExecutionListItem execution = awaitExecution(ep.id());
        OperationId op = OperationId.of(execution.name());
        ComputeSteps steps = h.controlPlane.computeSteps();
        NodeId agent = steps.claimAgent(op, ep.id(), ep.project(), ep.branch(), execution.executionArn(), Optional.empty());
        steps.elect(op, ep.id(), ep.branch(), agent);
        steps.markRunning(op, ep.id(), agent, "127.0.0.1:" + compute.port());
        Result ok = finish(client);
        assertThat(ok.exit()).as(ok.stderr()).isZero();
        assertThat(ok.stdout()).contains("still serving");
    }

    @Test
    void aRunningEndpointWhoseComputeIsGoneIsSuspendedThenWokenAgain() throws Exception {
        Endpoint ep = suspendedEndpoint();
        int deadPort;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            deadPort = s.getLocalPort(); // closed below: nothing listens there any more
        }
        // an earlier wake (through the same API) left it RUNNING on a compute that is gone
        OperationId first = proxy.api().startEndpoint(ep.id()).id();
        ExecutionListItem firstExecution = awaitExecutions(wakeArn, ep.id(), 1).getFirst();
        ComputeSteps steps = h.controlPlane.computeSteps();
        NodeId agent = steps.claimAgent(first, ep.id(), ep.project(), ep.branch(), firstExecution.executionArn(),
                Optional.empty());
        steps.elect(first, ep.id(), ep.branch(), agent);
        steps.markRunning(first, ep.id(), agent, "127.0.0.1:" + deadPort);

        Process client = psql(ep.id().toString(), "select 'on a new compute'");

        // the proxy finds the compute dead and runs the suspend workflow: its steps, in order
        ExecutionListItem suspend = awaitExecutions(suspendArn, ep.id(), 1).getFirst();
        OperationId suspendOp = OperationId.of(suspend.name());
        assertThat(steps.checkActivity(suspendOp, ep.id(), agent, suspend.executionArn(), Optional.empty())).isZero();
        steps.markSuspending(suspendOp, ep.id(), agent);
        steps.stopPostgres(suspendOp, ep.id(), agent);
        steps.releaseAgent(suspendOp, ep.id(), agent);
        steps.markSuspended(suspendOp, ep.id());
        assertThat(h.operation(suspendOp).state()).isEqualTo(OperationState.SUCCEEDED);

        // then wakes it again
        ExecutionListItem wake = awaitExecutions(wakeArn, ep.id(), 2).stream()
                .filter(x -> !x.name().equals(first.toString())).findFirst().orElseThrow();
        OperationId again = OperationId.of(wake.name());
        NodeId next = steps.claimAgent(again, ep.id(), ep.project(), ep.branch(), wake.executionArn(), Optional.empty());
        steps.elect(again, ep.id(), ep.branch(), next);
        steps.markRunning(again, ep.id(), next, "127.0.0.1:" + compute.port());

        Result r = finish(client);
        assertThat(r.exit()).as(r.stderr()).isZero();
        assertThat(r.stdout()).contains("on a new compute");
        assertThat(h.endpoint(ep.id()).address()).contains("127.0.0.1:" + compute.port());
    }

    // ---------------------------------------------------------------- helpers

    private static List<ExecutionListItem> executionsOf(EndpointId endpoint) {
        return executionsOf(wakeArn, endpoint);
    }

    private static List<ExecutionListItem> executionsOf(String machine, EndpointId endpoint) {
        return sfn.listExecutions(b -> b.stateMachineArn(machine)).executions().stream().filter(x -> {
            try {
                String in = sfn.describeExecution(b -> b.executionArn(x.executionArn())).input();
                return endpoint.toString().equals(JSON.readTree(in).path("endpointId").asText());
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }).toList();
    }

    private static ExecutionListItem awaitExecution(EndpointId endpoint) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            List<ExecutionListItem> found = executionsOf(endpoint);
            if (!found.isEmpty()) {
                assertThat(found).hasSize(1);
                return found.getFirst();
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no execution of the wake state machine for " + endpoint + " within " + WAIT);
    }

    /** Waits until {@code machine} has {@code n} executions for the endpoint; them. */
    private static List<ExecutionListItem> awaitExecutions(String machine, EndpointId endpoint, int n)
            throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            List<ExecutionListItem> found = executionsOf(machine, endpoint);
            if (found.size() >= n) {
                assertThat(found).hasSize(n);
                return found;
            }
            Thread.sleep(50);
        }
        throw new AssertionError(n + " executions of " + machine + " for " + endpoint + " not seen within " + WAIT);
    }

    private static Process psql(String endpoint, String sql) throws IOException {
        String conninfo = "host=127.0.0.1 port=" + proxy.running().proxy().port() + " user=" + compute.user()
                + " dbname=postgres sslmode=disable connect_timeout=150 options=endpoint=" + endpoint.replace(" ", "\\ ");
        ProcessBuilder pb = new ProcessBuilder(PSQL.toString(), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql, conninfo);
        pb.environment().put("PGPASSWORD", compute.password());
        pb.environment().put("PGCONNECT_TIMEOUT", "150");
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        return pb.start();
    }

    record Result(int exit, String stdout, String stderr) {
    }

    private static Result finish(Process p) throws Exception {
        var out = p.getInputStream();
        var err = p.getErrorStream();
        var o = java.util.concurrent.CompletableFuture.supplyAsync(() -> read(out));
        var e = java.util.concurrent.CompletableFuture.supplyAsync(() -> read(err));
        if (!p.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("psql did not finish within " + WAIT);
        }
        return new Result(p.exitValue(), o.get(10, TimeUnit.SECONDS), e.get(10, TimeUnit.SECONDS));
    }

    private static String read(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
