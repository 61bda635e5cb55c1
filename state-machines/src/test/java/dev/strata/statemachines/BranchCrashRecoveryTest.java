package dev.strata.statemachines;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.control.model.AgentState;
import dev.strata.control.model.Branch;
import dev.strata.control.model.BranchState;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationKind;
import dev.strata.control.model.OperationState;
import dev.strata.control.service.StepIds;
import dev.strata.control.storage.BranchTarget;
import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * create-branch and delete-branch crashed after each of their steps ({@link CrashAfter}), then
 * recovered as restore is ({@link RestoreCrashRecoveryTest}): run again with {@code recoversExecution}
 * naming the dead execution unless the operation finished. Checked: the operation succeeded, the
 * branches' timelines are exactly the storage's, no endpoint left waking or suspending, every agent idle.
 */
class BranchCrashRecoveryTest extends BranchWorkflowBase {

    static final List<String> CREATE = List.of("strata-create-branch-record", "strata-create-branch-timeline",
            "strata-activate-branch");
    static final List<String> DELETE = List.of("strata-begin-branch-delete", "strata-mark-endpoint-suspending",
            "strata-stop-postgres", "strata-release-agent", "strata-mark-endpoint-suspended",
            "strata-delete-branch-timeline", "strata-delete-branch-record");

    static Stream<Integer> createCrashPoints() {
        return IntStream.rangeClosed(0, CREATE.size()).boxed();
    }

    static Stream<Integer> deleteCrashPoints() {
        return IntStream.rangeClosed(0, DELETE.size()).boxed();
    }

    void recoverToSuccess(Workflow w, OperationId op, Map<String, Object> input) {
        recover(w, op, input).ifPresent(r -> assertThat(r.status()).as(r.error() + ": " + r.cause())
                .isEqualTo(ExecutionStatus.SUCCEEDED));
        assertThat(h.operation(op).state()).isEqualTo(OperationState.SUCCEEDED);
    }

    @ParameterizedTest(name = "create-branch, crash after {0} steps")
    @MethodSource("createCrashPoints")
    void aCrashedCreationIsRecovered(int after) {
        OperationId op = schedule(OperationKind.CREATE_BRANCH, MAIN, Optional.empty());
        Map<String, Object> input = createBranchInput(op, "dev", MAIN, new BranchTarget.AtTime(T0.plusSeconds(30)), true);
        runCrashed(Workflow.CREATE_BRANCH, input, after, CREATE);
        recoverToSuccess(Workflow.CREATE_BRANCH, op, input);

        Branch dev = h.store.getBranchByName(PROJECT, "dev").orElseThrow();
        assertThat(dev.id()).isEqualTo(StepIds.newBranch(op));
        assertThat(dev.state()).isEqualTo(BranchState.READY);
        assertThat(dev.branchLsn()).contains(LSN_2);
        assertThat(h.storage.timeline(dev.timeline()).orElseThrow().ancestor()).contains(TIMELINE);
        assertThat(h.endpoint(StepIds.branchEndpoint(op)).state()).isEqualTo(EndpointState.SUSPENDED);
        assertTimelinesMatchBranches();
    }

    @ParameterizedTest(name = "delete-branch, crash after {0} steps")
    @MethodSource("deleteCrashPoints")
    void aCrashedDeleteIsRecovered(int after) {
        OperationId create = schedule(OperationKind.CREATE_BRANCH, MAIN, Optional.empty());
        assertThat(run(Workflow.CREATE_BRANCH, createBranchInput(create, "dev", MAIN, new BranchTarget.Head(), true),
                functions).status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        BranchId dev = StepIds.newBranch(create);
        EndpointId ep = StepIds.branchEndpoint(create);
        assertThat(wake(ep, dev).status()).isEqualTo(ExecutionStatus.SUCCEEDED);

        OperationId op = schedule(OperationKind.DELETE_BRANCH, dev, Optional.of(ep));
        Map<String, Object> input = deleteInput(op, dev);
        runCrashed(Workflow.DELETE_BRANCH, input, after, DELETE);
        recoverToSuccess(Workflow.DELETE_BRANCH, op, input);

        assertThat(h.store.getBranch(PROJECT, dev)).isEmpty();
        assertThat(h.store.getBranchByName(PROJECT, "dev")).isEmpty();
        assertThat(h.store.getEndpoint(ep)).isEmpty();
        assertThat(h.compute.runningCount()).isZero();
        assertThat(h.agent(AGENT_A).state()).isEqualTo(AgentState.IDLE);
        assertThat(h.agent(AGENT_B).state()).isEqualTo(AgentState.IDLE);
        assertThat(branch(MAIN).state()).isEqualTo(BranchState.READY);
        assertTimelinesMatchBranches();
    }
}
