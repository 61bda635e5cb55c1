package dev.strata.statemachines;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strata.control.EndpointBusyException;
import dev.strata.control.TransientStepException;
import dev.strata.control.local.LocalDynamo;
import dev.strata.control.model.AgentState;
import dev.strata.control.model.BranchState;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationKind;
import dev.strata.control.model.OperationState;
import dev.strata.control.service.StepIds;
import dev.strata.control.testing.ControlPlaneHarness;
import dev.strata.control.testing.Faults;
import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.ProjectId;
import dev.strata.pgcore.id.TimelineId;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The three workflows on the local engine with every Task state routed to the real handlers
 * ({@link ControlPlaneFunctions}) over real dynalite; only the compute and storage seams are the
 * recording fakes of the functions test-jar (they inject the failures). Every path: success, a
 * transient failure retried, a permanent one caught and compensated, and concurrent operations on
 * one endpoint serialized by the conditional writes. Operations are read back from the metadata.
 */
class ControlPlaneWorkflowsTest {

    static final RunOptions OPTIONS = RunOptions.defaults().withTimeout(Duration.ofSeconds(45))
            .withRetryInterval(Duration.ofMillis(10));
    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration GATE_WAIT = Duration.ofSeconds(20);

    static final ProjectId PROJECT = ProjectId.of("p-wf");
    static final BranchId BRANCH = BranchId.of("br-wf");
    static final TimelineId TIMELINE = TimelineId.parse("00112233445566778899aabbccddeeff");
    static final EndpointId ENDPOINT = EndpointId.of("ep-wf");
    static final NodeId AGENT_A = NodeId.of("agent-a");
    static final NodeId AGENT_B = NodeId.of("agent-b");

    @TempDir
    static Path dir;
    static LocalDynamo dynamo;
    static LocalStepFunctions engine;

    ControlPlaneHarness h;
    LambdaHandlers functions;
    ExecutorService threads;
    int ops;

    @BeforeAll
    static void start() {
        dynamo = LocalDynamo.start(dir);
        engine = LocalStepFunctions.start();
        engine.prepareAll();
    }

    @AfterAll
    static void stop() {
        if (engine != null) {
            engine.close();
            assertThat(engine.isAlive()).isFalse();
        }
        if (dynamo != null) {
            dynamo.close();
        }
    }

    @BeforeEach
    void harness() {
        h = ControlPlaneHarness.on(dynamo);
        functions = ControlPlaneFunctions.on(h.controlPlane);
        threads = Executors.newCachedThreadPool();
        h.project(PROJECT);
        h.readyBranch(PROJECT, BRANCH, TIMELINE);
        h.endpoint(PROJECT, BRANCH, ENDPOINT);
        h.idleAgent(AGENT_A);
        h.idleAgent(AGENT_B);
    }

    @AfterEach
    void close() throws InterruptedException {
        h.close(); // opens every gate first
        threads.shutdown();
        assertThat(threads.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    }

    // ---------------------------------------------------------------- helpers

    OperationId newOperation(OperationKind kind) {
        OperationId id = OperationId.of("op-wf" + kind.name().toLowerCase().replace("_", "") + (++ops));
        if (kind == OperationKind.CREATE_PROJECT) {
            h.schedule(id, kind, ProjectId.of("p-new" + ops));
        } else {
            h.schedule(id, kind, PROJECT, ENDPOINT);
        }
        return id;
    }

    ExecutionResult wake(OperationId op) {
        return engine.run(Workflow.WAKE, json(Map.of("operationId", op.toString(), "endpointId", ENDPOINT.toString(),
                "projectId", PROJECT.toString(), "branchId", BRANCH.toString(), "recoversExecution", "")), functions,
                OPTIONS);
    }

    ExecutionResult suspend(OperationId op, NodeId agent) {
        return engine.run(Workflow.SUSPEND, json(Map.of("operationId", op.toString(), "endpointId",
                ENDPOINT.toString(), "agentId", agent.toString(), "recoversExecution", "")), functions, OPTIONS);
    }

    ExecutionResult createProject(OperationId op) {
        ProjectId project = h.operation(op).project();
        return engine.run(Workflow.CREATE_PROJECT, json(Map.of("operationId", op.toString(), "projectId",
                project.toString(), "name", "my project", "pgVersion", 17, "recoversExecution", "")), functions, OPTIONS);
    }

    CompletableFuture<ExecutionResult> async(java.util.function.Supplier<ExecutionResult> run) {
        return CompletableFuture.supplyAsync(run, threads);
    }

    static String json(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The operation as recorded: its state, and the execution that ran it. */
    Operation recorded(OperationId op, OperationState state, ExecutionResult r) {
        Operation o = h.operation(op);
        assertThat(o.state()).as(op + " state").isEqualTo(state);
        assertThat(o.executionArn()).as(op + " execution").contains(r.executionId());
        return o;
    }

    NodeId wokenAgent() {
        OperationId op = newOperation(OperationKind.START_COMPUTE);
        ExecutionResult r = wake(op);
        assertThat(r.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        return h.endpoint(ENDPOINT).agent().orElseThrow();
    }

    void assertSuspendedWithEveryAgentFree() {
        Endpoint e = h.endpoint(ENDPOINT);
        assertThat(e.state()).isEqualTo(EndpointState.SUSPENDED);
        assertThat(h.agent(AGENT_A).state()).isEqualTo(AgentState.IDLE);
        assertThat(h.agent(AGENT_B).state()).isEqualTo(AgentState.IDLE);
        assertThat(h.compute.runningCount()).isZero();
    }

    // ---------------------------------------------------------------- routing

    @Test
    void everyTaskStateIsRoutedToAHandler() throws Exception {
        Set<String> called = new HashSet<>();
        for (Workflow w : Workflow.values()) {
            JsonNode states = JSON.readTree(w.localDefinition()).path("States");
            states.forEach(s -> {
                if (s.path("Type").asText().equals("Task")) {
                    String arn = s.path("Resource").asText();
                    assertThat(arn).endsWith(":" + Workflow.LOCAL_ALIAS);
                    called.add(arn.substring(arn.indexOf(":function:") + ":function:".length(), arn.lastIndexOf(':')));
                }
            });
        }
        assertThat(functions.functionNames()).containsExactlyInAnyOrderElementsOf(called);
    }

    // ---------------------------------------------------------------- wake

    @Test
    void wakeSucceeds() {
        OperationId op = newOperation(OperationKind.START_COMPUTE);
        ExecutionResult r = wake(op);

        assertThat(r.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(r.statesVisited()).containsExactly("ClaimAgent", "Elect", "StartPostgres", "MarkRunning", "Woken");
        Endpoint e = h.endpoint(ENDPOINT);
        assertThat(e.state()).isEqualTo(EndpointState.RUNNING);
        assertThat(e.address()).contains(r.output().path("compute").path("address").asText());
        assertThat(h.compute.runningOn(ENDPOINT)).isEqualTo(e.agent());
        assertThat(h.agent(e.agent().orElseThrow()).claimedBy()).contains(ENDPOINT);
        recorded(op, OperationState.SUCCEEDED, r);
        assertThat(h.store.listOperations(PROJECT)).extracting(Operation::kind).containsExactly(OperationKind.START_COMPUTE);
    }

    @Test
    void wakeRetriesATransientFailure() {
        h.storage.faults().failNext("elect", 2, () -> new TransientStepException("safekeeper sk-2 did not answer"));
        OperationId op = newOperation(OperationKind.START_COMPUTE);
        ExecutionResult r = wake(op);

        assertThat(r.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(r.retries("Elect")).isEqualTo(2);
        assertThat(r.failures("Elect")).containsExactly(WorkflowErrors.TRANSIENT, WorkflowErrors.TRANSIENT);
        assertThat(h.storage.faults().count("elect")).isEqualTo(3);
        assertThat(h.endpoint(ENDPOINT).state()).isEqualTo(EndpointState.RUNNING);
        recorded(op, OperationState.SUCCEEDED, r);
    }

    @Test
    void aFailedStartIsCompensated() {
        h.compute.faults().failNext("startPostgres", 1, () -> new IllegalStateException("basebackup failed"));
        OperationId op = newOperation(OperationKind.START_COMPUTE);
        ExecutionResult r = wake(op);

        assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r.error()).isEqualTo("java.lang.IllegalStateException");
        assertThat(r.statesVisited()).containsExactly("ClaimAgent", "Elect", "StartPostgres", "ReleaseAgent",
                "MarkEndpointSuspended", "RecordFailure", "WakeFailed");
        assertSuspendedWithEveryAgentFree();
        assertThat(recorded(op, OperationState.FAILED, r).error()).hasValueSatisfying(
                e -> assertThat(e).startsWith("java.lang.IllegalStateException").contains("basebackup failed"));
        // the endpoint wakes afterwards
        assertThat(wake(newOperation(OperationKind.START_COMPUTE)).status()).isEqualTo(ExecutionStatus.SUCCEEDED);
    }

    @Test
    void aTransientFailureThatPersistsIsCompensatedAfterItsRetries() {
        h.compute.faults().failNext("startPostgres", 10, () -> new TransientStepException("agent busy"));
        OperationId op = newOperation(OperationKind.START_COMPUTE);
        ExecutionResult r = wake(op);

        assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r.error()).isEqualTo(WorkflowErrors.TRANSIENT);
        assertThat(h.compute.faults().count("startPostgres")).isEqualTo(4);
        assertSuspendedWithEveryAgentFree();
        recorded(op, OperationState.FAILED, r);
    }

    @Test
    void anAgentThatDoesNotAnswerIsRetiredNotGivenBackToThePool() {
        // its task died: the start (first try and three retries) and the compensation's stop find
        // nobody at its address
        h.compute.faults().failNext("startPostgres", 4, () -> new TransientStepException("agent did not answer"));
        h.compute.faults().failNext("stopPostgres", 1, () -> new TransientStepException("agent did not answer"));
        OperationId op = newOperation(OperationKind.START_COMPUTE);
        ExecutionResult r = wake(op);

        assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r.statesVisited()).containsExactly("ClaimAgent", "Elect", "StartPostgres", "ReleaseAgent",
                "MarkEndpointSuspended", "RecordFailure", "WakeFailed");
        assertThat(r.retries("ReleaseAgent")).as("no retries of a stop nobody answers").isZero();
        NodeId dead = h.compute.retired().stream().findFirst().orElseThrow();
        assertThat(h.agent(dead).state()).isEqualTo(AgentState.RETIRED);
        assertThat(h.endpoint(ENDPOINT).state()).isEqualTo(EndpointState.SUSPENDED);
        recorded(op, OperationState.FAILED, r);
        // the next wake takes the other agent and succeeds
        assertThat(wokenAgent()).isNotEqualTo(dead);
    }

    @Test
    void aFailedClaimIsCompensated() {
        // an empty pool, and launching an agent fails
        h.store.updateAgent(h.agent(AGENT_A), h.agent(AGENT_A).retired());
        h.store.updateAgent(h.agent(AGENT_B), h.agent(AGENT_B).retired());
        h.compute.faults().failNext("launchAgent", 1, () -> new IllegalStateException("no capacity"));
        OperationId op = newOperation(OperationKind.START_COMPUTE);
        ExecutionResult r = wake(op);

        assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r.statesVisited()).containsExactly("ClaimAgent", "MarkEndpointSuspended", "RecordFailure",
                "WakeFailed");
        assertThat(h.endpoint(ENDPOINT).state()).isEqualTo(EndpointState.SUSPENDED);
        assertThat(recorded(op, OperationState.FAILED, r).error()).hasValueSatisfying(
                e -> assertThat(e).contains("no capacity"));
    }

    // ---------------------------------------------------------------- suspend

    @Test
    void suspendSucceeds() {
        NodeId agent = wokenAgent();
        OperationId op = newOperation(OperationKind.SUSPEND_COMPUTE);
        ExecutionResult r = suspend(op, agent);

        assertThat(r.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(r.statesVisited()).containsExactly("CheckActivity", "IsIdle", "MarkSuspending", "StopPostgres",
                "ReturnAgent", "MarkSuspended", "Suspended");
        assertSuspendedWithEveryAgentFree();
        recorded(op, OperationState.SUCCEEDED, r);
    }

    @Test
    void suspendOfAComputeWithSessionsIsSkipped() {
        NodeId agent = wokenAgent();
        h.compute.setSessions(ENDPOINT, 2);
        OperationId op = newOperation(OperationKind.SUSPEND_COMPUTE);
        ExecutionResult r = suspend(op, agent);

        assertThat(r.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(r.statesVisited()).containsExactly("CheckActivity", "IsIdle", "SkipSuspend", "StillActive");
        assertThat(r.output().path("activity").path("sessions").asInt()).isEqualTo(2);
        assertThat(h.endpoint(ENDPOINT).state()).isEqualTo(EndpointState.RUNNING);
        assertThat(h.compute.runningOn(ENDPOINT)).contains(agent);
        recorded(op, OperationState.SUCCEEDED, r);
    }

    @Test
    void suspendRetriesATransientStop() {
        NodeId agent = wokenAgent();
        h.compute.faults().failNext("stopPostgres", 1, () -> new TransientStepException("agent restarting"));
        OperationId op = newOperation(OperationKind.SUSPEND_COMPUTE);
        ExecutionResult r = suspend(op, agent);

        assertThat(r.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(r.retries("StopPostgres")).isEqualTo(1);
        assertSuspendedWithEveryAgentFree();
        recorded(op, OperationState.SUCCEEDED, r);
    }

    @Test
    void aFailedStopQuarantinesTheAgent() {
        NodeId agent = wokenAgent();
        h.compute.faults().failNext("stopPostgres", 1, () -> new IllegalStateException("postgres does not stop"));
        OperationId op = newOperation(OperationKind.SUSPEND_COMPUTE);
        ExecutionResult r = suspend(op, agent);

        assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r.statesVisited()).containsExactly("CheckActivity", "IsIdle", "MarkSuspending", "StopPostgres",
                "MarkEndpointFailed", "RecordFailure", "SuspendFailed");
        assertThat(h.endpoint(ENDPOINT).state()).isEqualTo(EndpointState.SUSPENDED);
        assertThat(h.agent(agent).state()).isEqualTo(AgentState.RETIRED);
        assertThat(h.compute.retired()).containsExactly(agent);
        recorded(op, OperationState.FAILED, r);
        // the next wake starts on the other agent
        assertThat(wokenAgent()).isNotEqualTo(agent);
    }

    // ---------------------------------------------------------------- create-project

    @Test
    void createProjectSucceeds() {
        OperationId op = newOperation(OperationKind.CREATE_PROJECT);
        ProjectId project = h.operation(op).project();
        ExecutionResult r = createProject(op);

        assertThat(r.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(r.statesVisited()).containsExactly("CreateProjectRecord", "CreateTimeline", "CreateEndpoint",
                "ActivateProject", "ProjectCreated");
        assertThat(h.store.getProject(project)).isPresent();
        assertThat(h.store.getBranchByName(project, "main").orElseThrow().state()).isEqualTo(BranchState.READY);
        assertThat(h.store.listEndpoints(project)).singleElement()
                .satisfies(e -> assertThat(e.state()).isEqualTo(EndpointState.SUSPENDED));
        assertThat(h.storage.timelines()).containsExactly(StepIds.mainTimeline(op));
        recorded(op, OperationState.SUCCEEDED, r);
    }

    @Test
    void createProjectRetriesATransientTimelineFailure() {
        h.storage.faults().failNext("createTimeline", 2, () -> new TransientStepException("pageserver 503"));
        OperationId op = newOperation(OperationKind.CREATE_PROJECT);
        ExecutionResult r = createProject(op);

        assertThat(r.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(r.retries("CreateTimeline")).isEqualTo(2);
        recorded(op, OperationState.SUCCEEDED, r);
    }

    @Test
    void aFailedProjectCreationIsCompensated() {
        h.storage.faults().failNext("createTimeline", 1, () -> new IllegalStateException("initdb failed"));
        OperationId op = newOperation(OperationKind.CREATE_PROJECT);
        ProjectId project = h.operation(op).project();
        ExecutionResult r = createProject(op);

        assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r.statesVisited()).containsExactly("CreateProjectRecord", "CreateTimeline", "DeleteTimeline",
                "MarkProjectFailed", "RecordFailure", "CreateProjectFailed");
        assertThat(h.storage.faults().count("deleteTimeline")).isEqualTo(1);
        assertThat(h.store.getBranchByName(project, "main").orElseThrow().state()).isEqualTo(BranchState.DELETING);
        assertThat(h.store.listEndpoints(project)).isEmpty();
        assertThat(recorded(op, OperationState.FAILED, r).error()).hasValueSatisfying(
                e -> assertThat(e).contains("initdb failed"));
    }

    // ---------------------------------------------------------------- concurrent operations on one endpoint

    @Test
    void aSecondWakeDuringAWakeFailsWithoutTouchingIt() throws Exception {
        Faults.Gate electing = h.storage.faults().blockNext("elect");
        OperationId first = newOperation(OperationKind.START_COMPUTE);
        CompletableFuture<ExecutionResult> firstRun = async(() -> wake(first));
        assertThat(electing.awaitArrival(GATE_WAIT)).isTrue();

        OperationId second = newOperation(OperationKind.START_COMPUTE);
        ExecutionResult r2 = wake(second);
        assertThat(r2.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r2.error()).isEqualTo(EndpointBusyException.class.getName());
        assertThat(r2.statesVisited()).containsExactly("ClaimAgent", "MarkEndpointSuspended", "RecordFailure",
                "WakeFailed");
        // the second wake's compensation left the first one's endpoint alone
        Endpoint during = h.endpoint(ENDPOINT);
        assertThat(during.state()).isEqualTo(EndpointState.WAKING);
        assertThat(during.operation()).contains(first);
        recorded(second, OperationState.FAILED, r2);

        electing.open();
        ExecutionResult r1 = firstRun.get(45, TimeUnit.SECONDS);
        assertThat(r1.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        recorded(first, OperationState.SUCCEEDED, r1);
        Endpoint e = h.endpoint(ENDPOINT);
        assertThat(e.state()).isEqualTo(EndpointState.RUNNING);
        // one compute, and the agent the endpoint does not hold is back in the pool
        assertThat(h.compute.runningCount()).isEqualTo(1);
        NodeId other = e.agent().orElseThrow().equals(AGENT_A) ? AGENT_B : AGENT_A;
        assertThat(h.agent(other).state()).isEqualTo(AgentState.IDLE);
    }

    @Test
    void concurrentWakesEndWithOneRunningComputeAndEveryOtherAgentFree() throws Exception {
        int n = 4;
        List<OperationId> opIds = new ArrayList<>();
        List<CompletableFuture<ExecutionResult>> runs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            opIds.add(newOperation(OperationKind.START_COMPUTE));
        }
        for (OperationId op : opIds) {
            runs.add(async(() -> wake(op)));
        }
        int succeeded = 0;
        for (int i = 0; i < n; i++) {
            ExecutionResult r = runs.get(i).get(45, TimeUnit.SECONDS);
            if (r.succeeded()) {
                succeeded++;
                recorded(opIds.get(i), OperationState.SUCCEEDED, r);
            } else {
                assertThat(r.error()).isEqualTo(EndpointBusyException.class.getName());
                recorded(opIds.get(i), OperationState.FAILED, r);
            }
        }
        assertThat(succeeded).isEqualTo(1);
        Endpoint e = h.endpoint(ENDPOINT);
        assertThat(e.state()).isEqualTo(EndpointState.RUNNING);
        assertThat(h.compute.runningCount()).isEqualTo(1);
        // every agent the endpoint does not hold (launched ones too, if the pool ran dry) is back in the pool
        assertThat(h.store.listAgents(AgentState.CLAIMED)).extracting(a -> a.id()).containsExactly(e.agent().orElseThrow());
    }

    @Test
    void aWakeDuringASuspendFailsAndTheSuspendCompletes() throws Exception {
        NodeId agent = wokenAgent();
        Faults.Gate stopping = h.compute.faults().blockNext("stopPostgres");
        OperationId suspendOp = newOperation(OperationKind.SUSPEND_COMPUTE);
        CompletableFuture<ExecutionResult> suspendRun = async(() -> suspend(suspendOp, agent));
        assertThat(stopping.awaitArrival(GATE_WAIT)).isTrue();

        OperationId wakeOp = newOperation(OperationKind.START_COMPUTE);
        ExecutionResult w = wake(wakeOp);
        assertThat(w.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(w.error()).isEqualTo(EndpointBusyException.class.getName());
        assertThat(h.endpoint(ENDPOINT).state()).isEqualTo(EndpointState.SUSPENDING);
        assertThat(h.endpoint(ENDPOINT).operation()).contains(suspendOp);
        recorded(wakeOp, OperationState.FAILED, w);

        stopping.open();
        ExecutionResult s = suspendRun.get(45, TimeUnit.SECONDS);
        assertThat(s.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        recorded(suspendOp, OperationState.SUCCEEDED, s);
        assertSuspendedWithEveryAgentFree();
        // serialized, not lost: the endpoint wakes once the suspend is done
        wokenAgent();
    }

    @Test
    void aSuspendDuringAWakeFailsAndTheWakeCompletes() throws Exception {
        Faults.Gate starting = h.compute.faults().blockNext("startPostgres");
        OperationId wakeOp = newOperation(OperationKind.START_COMPUTE);
        CompletableFuture<ExecutionResult> wakeRun = async(() -> wake(wakeOp));
        assertThat(starting.awaitArrival(GATE_WAIT)).isTrue();
        NodeId agent = h.endpoint(ENDPOINT).agent().orElseThrow();

        OperationId suspendOp = newOperation(OperationKind.SUSPEND_COMPUTE);
        ExecutionResult s = suspend(suspendOp, agent);
        assertThat(s.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(s.error()).isEqualTo(EndpointBusyException.class.getName());
        assertThat(s.statesVisited()).containsExactly("CheckActivity", "RecordFailure", "SuspendFailed");
        recorded(suspendOp, OperationState.FAILED, s);

        starting.open();
        ExecutionResult w = wakeRun.get(45, TimeUnit.SECONDS);
        assertThat(w.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(h.endpoint(ENDPOINT).state()).isEqualTo(EndpointState.RUNNING);
        recorded(wakeOp, OperationState.SUCCEEDED, w);
    }
}
