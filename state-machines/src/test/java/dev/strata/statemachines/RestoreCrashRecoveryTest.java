package dev.strata.statemachines;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.control.model.AgentState;
import dev.strata.control.model.Branch;
import dev.strata.control.model.ComputeAgent;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationKind;
import dev.strata.control.model.OperationState;
import dev.strata.control.service.StepIds;
import dev.strata.control.storage.BranchTarget;
import dev.strata.pgcore.id.TimelineId;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The restore workflow crashed after each of its steps, then recovered, and checked: the operation
 * completes or is compensated, every branch points at a timeline that exists in storage and every
 * timeline belongs to a branch, no endpoint is left waking or suspending, no agent is left claimed
 * without a compute, and a completed restore's backup branch holds the old timeline.
 *
 * <p>The crash is {@link CrashAfter}: the k-th task call runs and its response is lost, nothing runs
 * after it. Recovery is the documented procedure (docs/control-plane.md, "Crash
 * recovery"): an operation still SCHEDULED or RUNNING is run again, same input, with
 * {@code recoversExecution} naming the dead execution; a finished one is left as it is.
 */
class RestoreCrashRecoveryTest extends BranchWorkflowBase {

    /** The task calls of a restore of a running endpoint, in order (checked by the first test). */
    static final List<String> FORWARD = List.of("strata-begin-restore", "strata-create-backup-branch",
            "strata-create-branch-timeline", "strata-repoint-branch", "strata-plan-endpoint-restart",
            "strata-mark-endpoint-suspending", "strata-stop-postgres", "strata-release-agent",
            "strata-mark-endpoint-suspended", "strata-claim-agent", "strata-elect", "strata-start-postgres",
            "strata-mark-endpoint-running", "strata-complete-operation");

    static Stream<Integer> forwardCrashPoints() {
        return IntStream.rangeClosed(0, FORWARD.size()).boxed();
    }

    Map<String, Object> input(OperationId op, String recovers) {
        return restoreInput(op, MAIN, MAIN, new BranchTarget.AtTime(T0.plusSeconds(30)), recovers);
    }

    Optional<ExecutionResult> recover(OperationId op) {
        return recover(Workflow.RESTORE, op, input(op, ""));
    }

    OperationId crashedRestore(int after, List<String> expectRan) {
        assertThat(wake(ENDPOINT, MAIN).status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        OperationId op = schedule(OperationKind.RESTORE_BRANCH, MAIN, Optional.of(ENDPOINT));
        runCrashed(Workflow.RESTORE, input(op, ""), after, expectRan);
        return op;
    }

    @Test
    void anUninterruptedRestoreMakesTheseCalls() {
        OperationId op = crashedRestore(Integer.MAX_VALUE, FORWARD);
        assertThat(h.operation(op).state()).isEqualTo(OperationState.SUCCEEDED);
        assertConsistent(op);
    }

    @ParameterizedTest(name = "crash after {0} steps")
    @MethodSource("forwardCrashPoints")
    void aCrashAfterAnyStepIsRecovered(int after) {
        OperationId op = crashedRestore(after, FORWARD);
        Optional<ExecutionResult> recovery = recover(op);
        recovery.ifPresent(r -> assertThat(r.status()).as(r.error() + ": " + r.cause())
                .isEqualTo(ExecutionStatus.SUCCEEDED));
        assertThat(h.operation(op).state()).isEqualTo(OperationState.SUCCEEDED);
        assertConsistent(op);
    }

    @ParameterizedTest(name = "failure at the new timeline, crash after {0} calls")
    @MethodSource("compensationCrashPoints")
    void aCrashDuringTheCompensationIsRecovered(int after) {
        h.storage.faults().failNext("createBranchTimeline", 1, () -> new IllegalStateException("pageserver refused"));
        OperationId op = crashedRestore(after, List.of("strata-begin-restore", "strata-create-backup-branch",
                "strata-create-branch-timeline", "strata-delete-branch-timeline", "strata-discard-restore", "strata-record-operation-failure"));
        recover(op).ifPresent(r -> assertThat(r.status()).isEqualTo(ExecutionStatus.SUCCEEDED));
        assertConsistent(op);
    }

    static Stream<Integer> compensationCrashPoints() {
        // calls: begin, backup, create timeline (fails), delete timeline, discard, record failure
        return Stream.of(3, 4, 5, 6);
    }

    void assertConsistent(OperationId op) {
        Operation o = h.operation(op);
        assertThat(o.state()).isIn(OperationState.SUCCEEDED, OperationState.FAILED);
        List<Branch> branches = h.store.listBranches(PROJECT);
        Set<TimelineId> used = branches.stream().map(Branch::timeline).collect(Collectors.toSet());
        assertThat(h.storage.timelines()).as("every branch's timeline exists, every timeline has a branch")
                .containsExactlyInAnyOrderElementsOf(used);

        Branch main = branch(MAIN);
        if (o.state() == OperationState.SUCCEEDED) {
            assertThat(main.timeline()).isEqualTo(StepIds.childTimeline(op));
            assertThat(main.branchLsn()).contains(LSN_2);
            Branch backup = branch(StepIds.backupBranch(op));
            assertThat(backup.timeline()).as("the backup holds the old timeline").isEqualTo(TIMELINE);
            assertThat(backup.state()).isEqualTo(dev.strata.control.model.BranchState.READY);
            assertThat(main.parent()).contains(backup.id());
        } else {
            assertThat(main.timeline()).isEqualTo(TIMELINE);
            assertThat(branches).extracting(Branch::id).containsExactly(MAIN);
        }

        Endpoint e = h.endpoint(ENDPOINT);
        assertThat(e.state()).as("no endpoint stuck waking or suspending")
                .isIn(EndpointState.RUNNING, EndpointState.SUSPENDED);
        Map<String, AgentState> agents = new HashMap<>();
        for (ComputeAgent a : List.of(h.agent(AGENT_A), h.agent(AGENT_B))) {
            agents.put(a.id().toString(), a.state());
            if (e.agent().equals(Optional.of(a.id()))) {
                assertThat(a.state()).isEqualTo(AgentState.CLAIMED);
            } else {
                assertThat(a.state()).as("agent " + a.id()).isEqualTo(AgentState.IDLE);
            }
        }
        if (e.state() == EndpointState.RUNNING) {
            assertThat(h.compute.runningOn(ENDPOINT)).isEqualTo(e.agent());
            String started = h.compute.faults().calls().stream().filter(c -> c.startsWith("startPostgres "))
                    .reduce((a, b) -> b).orElseThrow().split(" ")[3];
            assertThat(started).as("the running compute serves the branch's timeline")
                    .isEqualTo(main.timeline().toString());
        } else {
            assertThat(h.compute.runningCount()).isZero();
        }
    }
}
