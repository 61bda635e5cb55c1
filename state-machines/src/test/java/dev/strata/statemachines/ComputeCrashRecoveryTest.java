package dev.strata.statemachines;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.control.EndpointBusyException;
import dev.strata.control.model.AgentState;
import dev.strata.control.model.ComputeAgent;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationKind;
import dev.strata.control.model.OperationState;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Wake and suspend crashed after each of their steps ({@link CrashAfter}: the k-th task call runs,
 * its response is lost, nothing runs after it), before the first, and after each call of their
 * compensations; then recovered as restore is ({@link RestoreCrashRecoveryTest}: run again with
 * {@code recoversExecution} naming the dead execution unless the operation finished). Checked: the
 * operation finished (SUCCEEDED, or FAILED where its compensation had already undone it) and no
 * compute is left behind ({@link #assertNoComputeLeftBehind}). Then a crashed operation meeting
 * another one on the same endpoint: serialized by the endpoint's conditional writes, one compute.
 */
class ComputeCrashRecoveryTest extends BranchWorkflowBase {

    static final List<String> WAKE = List.of("strata-claim-agent", "strata-elect", "strata-start-postgres",
            "strata-mark-endpoint-running");
    static final List<String> WAKE_COMPENSATION = List.of("strata-claim-agent", "strata-elect",
            "strata-release-agent", "strata-mark-endpoint-suspended", "strata-record-operation-failure");
    static final List<String> SUSPEND = List.of("strata-check-activity", "strata-mark-endpoint-suspending",
            "strata-stop-postgres", "strata-release-agent", "strata-mark-endpoint-suspended");
    static final List<String> SUSPEND_SKIPPED = List.of("strata-check-activity", "strata-complete-operation");
    static final List<String> SUSPEND_COMPENSATION = List.of("strata-check-activity",
            "strata-mark-endpoint-suspending", "strata-stop-postgres", "strata-mark-endpoint-failed",
            "strata-record-operation-failure");

    final ExecutorService threads = Executors.newFixedThreadPool(2);

    @AfterEach
    void stopThreads() throws InterruptedException {
        threads.shutdownNow();
        assertThat(threads.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    }

    static Stream<Integer> wakeCrashPoints() {
        return IntStream.rangeClosed(0, WAKE.size()).boxed();
    }

    static Stream<Integer> suspendCrashPoints() {
        return IntStream.rangeClosed(0, SUSPEND.size()).boxed();
    }

    static Stream<Integer> skippedSuspendCrashPoints() {
        return IntStream.rangeClosed(0, SUSPEND_SKIPPED.size()).boxed();
    }

    /** After the failing call (its own error, not the crash) and after each compensation call. */
    static Stream<Integer> wakeCompensationCrashPoints() {
        return IntStream.rangeClosed(2, WAKE_COMPENSATION.size()).boxed();
    }

    static Stream<Integer> suspendCompensationCrashPoints() {
        return IntStream.rangeClosed(3, SUSPEND_COMPENSATION.size()).boxed();
    }

    Map<String, Object> wakeInput(OperationId op) {
        return Map.of("operationId", op.toString(), "endpointId", ENDPOINT.toString(), "projectId",
                PROJECT.toString(), "branchId", MAIN.toString(), "recoversExecution", "");
    }

    Map<String, Object> suspendInput(OperationId op, NodeId agent) {
        return Map.of("operationId", op.toString(), "endpointId", ENDPOINT.toString(), "agentId", agent.toString(),
                "recoversExecution", "");
    }

    OperationId newOperation(OperationKind kind) {
        return schedule(kind, MAIN, Optional.of(ENDPOINT));
    }

    /** Recovers {@code op} and checks that the recovery, if it ran, ended as {@code expected}. */
    void recoverAs(Workflow w, OperationId op, Map<String, Object> input, ExecutionStatus expected) {
        recover(w, op, input).ifPresent(r -> assertThat(r.status()).as(r.error() + ": " + r.cause())
                .isEqualTo(expected));
    }

    NodeId running() {
        assertThat(wake(ENDPOINT, MAIN).status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        return h.endpoint(ENDPOINT).agent().orElseThrow();
    }

    // ---------------------------------------------------------------- wake

    @ParameterizedTest(name = "wake, crash after {0} steps")
    @MethodSource("wakeCrashPoints")
    void aCrashedWakeIsRecovered(int after) {
        OperationId op = newOperation(OperationKind.START_COMPUTE);
        runCrashed(Workflow.WAKE, wakeInput(op), after, WAKE);
        recoverAs(Workflow.WAKE, op, wakeInput(op), ExecutionStatus.SUCCEEDED);

        assertThat(h.operation(op).state()).isEqualTo(OperationState.SUCCEEDED);
        assertThat(assertNoComputeLeftBehind(ENDPOINT).state()).isEqualTo(EndpointState.RUNNING);
    }

    @ParameterizedTest(name = "wake, election fails, crash after {0} calls")
    @MethodSource("wakeCompensationCrashPoints")
    void aCrashDuringTheWakeCompensationIsRecovered(int after) {
        h.storage.faults().failNext("elect", 1, () -> new IllegalStateException("no safekeeper quorum"));
        OperationId op = newOperation(OperationKind.START_COMPUTE);
        runCrashed(Workflow.WAKE, wakeInput(op), after, WAKE_COMPENSATION);
        boolean recorded = after == WAKE_COMPENSATION.size();
        // until the failure is recorded the wake is unfinished: the recovery runs it again and it wakes
        // (the ReleaseAgent a crash cut short left the endpoint WAKING with an agent back in the pool)
        recoverAs(Workflow.WAKE, op, wakeInput(op), ExecutionStatus.SUCCEEDED);

        assertThat(h.operation(op).state()).isEqualTo(recorded ? OperationState.FAILED : OperationState.SUCCEEDED);
        assertThat(assertNoComputeLeftBehind(ENDPOINT).state())
                .isEqualTo(recorded ? EndpointState.SUSPENDED : EndpointState.RUNNING);
    }

    /**
     * A crash right after the compensation's ReleaseAgent leaves the endpoint WAKING with an agent
     * back in the pool; if another endpoint claims that agent before the recovery, the recovery wakes
     * on another agent and leaves the other endpoint's alone.
     */
    @Test
    void aRecoveredWakeWhoseAgentWasTakenMeanwhileWakesOnAnother() {
        h.storage.faults().failNext("elect", 1, () -> new IllegalStateException("no safekeeper quorum"));
        OperationId op = newOperation(OperationKind.START_COMPUTE);
        runCrashed(Workflow.WAKE, wakeInput(op), 3, WAKE_COMPENSATION);
        NodeId released = h.endpoint(ENDPOINT).agent().orElseThrow();
        ComputeAgent a = h.agent(released);
        assertThat(a.state()).isEqualTo(AgentState.IDLE);
        EndpointId other = EndpointId.of("ep-other");
        h.store.updateAgent(a, a.claimedBy(other));

        recoverAs(Workflow.WAKE, op, wakeInput(op), ExecutionStatus.SUCCEEDED);
        Endpoint e = h.endpoint(ENDPOINT);
        assertThat(e.state()).isEqualTo(EndpointState.RUNNING);
        assertThat(e.agent()).isPresent().isNotEqualTo(Optional.of(released));
        assertThat(h.compute.runningOn(ENDPOINT)).isEqualTo(e.agent());
        assertThat(h.compute.runningCount()).isEqualTo(1);
        assertThat(h.agent(released).claimedBy()).as("the other endpoint's agent is left to it").contains(other);
        assertThat(h.agent(e.agent().orElseThrow()).claimedBy()).contains(ENDPOINT);
    }

    // ---------------------------------------------------------------- suspend

    @ParameterizedTest(name = "suspend, crash after {0} steps")
    @MethodSource("suspendCrashPoints")
    void aCrashedSuspendIsRecovered(int after) {
        NodeId agent = running();
        OperationId op = newOperation(OperationKind.SUSPEND_COMPUTE);
        runCrashed(Workflow.SUSPEND, suspendInput(op, agent), after, SUSPEND);
        recoverAs(Workflow.SUSPEND, op, suspendInput(op, agent), ExecutionStatus.SUCCEEDED);

        assertThat(h.operation(op).state()).isEqualTo(OperationState.SUCCEEDED);
        assertThat(assertNoComputeLeftBehind(ENDPOINT).state()).isEqualTo(EndpointState.SUSPENDED);
    }

    @ParameterizedTest(name = "suspend of a busy compute, crash after {0} steps")
    @MethodSource("skippedSuspendCrashPoints")
    void aCrashedSkippedSuspendIsRecovered(int after) {
        NodeId agent = running();
        h.compute.setSessions(ENDPOINT, 2);
        OperationId op = newOperation(OperationKind.SUSPEND_COMPUTE);
        runCrashed(Workflow.SUSPEND, suspendInput(op, agent), after, SUSPEND_SKIPPED);
        recoverAs(Workflow.SUSPEND, op, suspendInput(op, agent), ExecutionStatus.SUCCEEDED);

        assertThat(h.operation(op).state()).isEqualTo(OperationState.SUCCEEDED);
        Endpoint e = assertNoComputeLeftBehind(ENDPOINT);
        assertThat(e.state()).isEqualTo(EndpointState.RUNNING);
        assertThat(e.agent()).contains(agent);
    }

    @ParameterizedTest(name = "suspend, stop fails, crash after {0} calls")
    @MethodSource("suspendCompensationCrashPoints")
    void aCrashDuringTheSuspendCompensationIsRecovered(int after) {
        NodeId agent = running();
        h.compute.faults().failNext("stopPostgres", 1, () -> new IllegalStateException("agent unreachable"));
        OperationId op = newOperation(OperationKind.SUSPEND_COMPUTE);
        runCrashed(Workflow.SUSPEND, suspendInput(op, agent), after, SUSPEND_COMPENSATION);
        // crashed before MarkEndpointFailed: the recovery finishes the stop. After it, the endpoint is
        // SUSPENDED and the agent retired: the recovery finds nothing to suspend and records a failure.
        boolean compensated = after >= 4;
        recoverAs(Workflow.SUSPEND, op, suspendInput(op, agent),
                compensated ? ExecutionStatus.FAILED : ExecutionStatus.SUCCEEDED);

        assertThat(h.operation(op).state()).isEqualTo(compensated ? OperationState.FAILED : OperationState.SUCCEEDED);
        assertThat(assertNoComputeLeftBehind(ENDPOINT).state()).isEqualTo(EndpointState.SUSPENDED);
        assertThat(h.compute.retired()).isEqualTo(compensated ? Set.of(agent) : Set.of());
    }

    // ---------------------------------------------------------------- a crashed operation meets another one

    @Test
    void aWakeDuringACrashedWakeFailsAndTheRecoveryWakesOnce() {
        OperationId crashed = newOperation(OperationKind.START_COMPUTE);
        runCrashed(Workflow.WAKE, wakeInput(crashed), 2, WAKE); // claimed and elected, then the engine died

        OperationId second = newOperation(OperationKind.START_COMPUTE);
        ExecutionResult r2 = run(Workflow.WAKE, wakeInput(second), functions);
        assertThat(r2.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r2.error()).isEqualTo(EndpointBusyException.class.getName());
        assertThat(h.endpoint(ENDPOINT).operation()).as("the failed wake left the endpoint alone").contains(crashed);

        recoverAs(Workflow.WAKE, crashed, wakeInput(crashed), ExecutionStatus.SUCCEEDED);
        assertThat(assertNoComputeLeftBehind(ENDPOINT).state()).isEqualTo(EndpointState.RUNNING);
    }

    @Test
    void aWakeDuringACrashedSuspendFailsAndTheRecoverySuspends() {
        NodeId agent = running();
        OperationId crashed = newOperation(OperationKind.SUSPEND_COMPUTE);
        runCrashed(Workflow.SUSPEND, suspendInput(crashed, agent), 3, SUSPEND); // Postgres stopped, then the engine died

        OperationId wake = newOperation(OperationKind.START_COMPUTE);
        ExecutionResult w = run(Workflow.WAKE, wakeInput(wake), functions);
        assertThat(w.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(w.error()).isEqualTo(EndpointBusyException.class.getName());
        assertThat(h.endpoint(ENDPOINT).state()).isEqualTo(EndpointState.SUSPENDING);

        recoverAs(Workflow.SUSPEND, crashed, suspendInput(crashed, agent), ExecutionStatus.SUCCEEDED);
        assertThat(assertNoComputeLeftBehind(ENDPOINT).state()).isEqualTo(EndpointState.SUSPENDED);
        // serialized, not lost: the next wake wakes it
        running();
        assertNoComputeLeftBehind(ENDPOINT);
    }

    /**
     * Two wakes at once: the recovery of a wake whose compensation a crash cut short (the endpoint
     * SUSPENDED, the operation still RUNNING) and a new wake. Whichever order the conditional writes
     * take, one wakes the endpoint and the other fails busy, and one compute runs.
     */
    @Test
    void theRecoveryOfACrashedWakeAndANewWakeAtOnceEndWithOneCompute() throws Exception {
        h.storage.faults().failNext("elect", 1, () -> new IllegalStateException("no safekeeper quorum"));
        OperationId crashed = newOperation(OperationKind.START_COMPUTE);
        runCrashed(Workflow.WAKE, wakeInput(crashed), 4, WAKE_COMPENSATION);
        assertThat(h.endpoint(ENDPOINT).state()).isEqualTo(EndpointState.SUSPENDED);
        OperationId fresh = newOperation(OperationKind.START_COMPUTE);

        CompletableFuture<Optional<ExecutionResult>> recovery =
                async(() -> recover(Workflow.WAKE, crashed, wakeInput(crashed)));
        CompletableFuture<ExecutionResult> wake = async(() -> run(Workflow.WAKE, wakeInput(fresh), functions));
        ExecutionResult a = recovery.get(60, TimeUnit.SECONDS).orElseThrow();
        ExecutionResult b = wake.get(60, TimeUnit.SECONDS);

        assertThat(List.of(a, b)).filteredOn(r -> r.status() == ExecutionStatus.SUCCEEDED).hasSize(1);
        assertThat(List.of(a, b)).filteredOn(r -> r.status() == ExecutionStatus.FAILED)
                .singleElement().satisfies(r -> assertThat(r.error()).isEqualTo(EndpointBusyException.class.getName()));
        assertThat(List.of(h.operation(crashed).state(), h.operation(fresh).state()))
                .containsExactlyInAnyOrder(OperationState.SUCCEEDED, OperationState.FAILED);
        assertThat(assertNoComputeLeftBehind(ENDPOINT).state()).isEqualTo(EndpointState.RUNNING);
    }

    <T> CompletableFuture<T> async(Supplier<T> run) {
        return CompletableFuture.supplyAsync(run, threads);
    }
}
