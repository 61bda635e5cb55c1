package dev.strata.statemachines;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.control.TransientStepException;
import dev.strata.control.model.AgentState;
import dev.strata.control.model.Branch;
import dev.strata.control.model.BranchState;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationKind;
import dev.strata.control.model.OperationState;
import dev.strata.control.service.BranchSteps;
import dev.strata.control.service.StepIds;
import dev.strata.control.storage.BranchTarget;
import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.TimelineId;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * create-branch, delete-branch and restore on the local engine, every Task state routed to the real
 * handlers over dynalite, the recording seams injecting the failures: each on its success path, with
 * a transient failure retried, with a permanent failure caught and compensated, and the refusals
 * (a point outside the history, a branch with children).
 */
class BranchWorkflowsTest extends BranchWorkflowBase {

    // ---------------------------------------------------------------- create-branch

    OperationId createBranch(String name, BranchTarget target, boolean endpoint, ExecutionStatus expected) {
        OperationId op = schedule(OperationKind.CREATE_BRANCH, MAIN, Optional.empty());
        ExecutionResult r = run(Workflow.CREATE_BRANCH, createBranchInput(op, name, MAIN, target, endpoint), functions);
        assertThat(r.status()).as(r.error() + ": " + r.cause()).isEqualTo(expected);
        assertThat(h.operation(op).executionArn()).contains(r.executionId());
        return op;
    }

    @Test
    void createBranchAtATimeMakesTheChildTimelineAndItsEndpoint() {
        OperationId op = createBranch("dev", new BranchTarget.AtTime(T0.plusSeconds(30)), true,
                ExecutionStatus.SUCCEEDED);

        Branch dev = h.store.getBranchByName(PROJECT, "dev").orElseThrow();
        assertThat(dev.state()).isEqualTo(BranchState.READY);
        assertThat(dev.parent()).contains(MAIN);
        assertThat(dev.branchLsn()).contains(LSN_2);
        assertThat(h.storage.timeline(dev.timeline()).orElseThrow().ancestor()).contains(TIMELINE);
        assertThat(h.endpoint(StepIds.branchEndpoint(op)).state()).isEqualTo(EndpointState.SUSPENDED);
        assertThat(h.operation(op).state()).isEqualTo(OperationState.SUCCEEDED);
    }

    @Test
    void aTimeBeforeTheHistoryFailsTheOperationWithAClearError() {
        OperationId op = createBranch("dev", new BranchTarget.AtTime(T0.minusSeconds(3600)), false,
                ExecutionStatus.FAILED);
        Operation o = h.operation(op);
        assertThat(o.state()).isEqualTo(OperationState.FAILED);
        assertThat(o.error().orElseThrow()).startsWith("dev.strata.control.BranchPointException")
                .contains("2026-12-06T03:00:00Z is before the history of timeline " + TIMELINE);
        assertThat(h.store.getBranchByName(PROJECT, "dev")).isEmpty();
        assertThat(h.storage.timelines()).containsExactly(TIMELINE);
    }

    @Test
    void createBranchRetriesATransientTimelineFailure() {
        h.storage.faults().failNext("createBranchTimeline", 1, () -> new TransientStepException("pageserver busy"));
        createBranch("dev", new BranchTarget.Head(), false, ExecutionStatus.SUCCEEDED);
        assertThat(h.storage.faults().count("createBranchTimeline")).isEqualTo(2);
        assertThat(h.store.getBranchByName(PROJECT, "dev").orElseThrow().branchLsn()).contains(HEAD);
    }

    @Test
    void createBranchCompensatesAPermanentFailure() {
        h.storage.faults().failNext("createBranchTimeline", 1, () -> new IllegalStateException("disk full"));
        OperationId op = createBranch("dev", new BranchTarget.AtLsn(LSN_1), true, ExecutionStatus.FAILED);
        assertThat(h.operation(op).error().orElseThrow()).contains("disk full");
        assertThat(h.store.getBranchByName(PROJECT, "dev")).isEmpty();
        assertThat(h.store.getBranch(PROJECT, StepIds.newBranch(op))).isEmpty();
        assertThat(h.storage.timelines()).containsExactly(TIMELINE);
        assertThat(h.storage.faults().count("deleteTimeline")).isEqualTo(1);
        // the name is free again
        createBranch("dev", new BranchTarget.AtLsn(LSN_1), false, ExecutionStatus.SUCCEEDED);
    }

    // ---------------------------------------------------------------- delete-branch

    @Test
    void deleteIsRefusedWhileTheBranchHasChildren() {
        createBranch("dev", new BranchTarget.Head(), false, ExecutionStatus.SUCCEEDED);
        OperationId del = schedule(OperationKind.DELETE_BRANCH, MAIN, Optional.of(ENDPOINT));
        ExecutionResult r = run(Workflow.DELETE_BRANCH, deleteInput(del, MAIN), functions);
        assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        BranchId dev = h.store.getBranchByName(PROJECT, "dev").orElseThrow().id();
        assertThat(h.operation(del).error().orElseThrow())
                .contains("branch 'main' cannot be deleted while it has child branches: 'dev' (" + dev + ")");
        assertThat(branch(MAIN).state()).isEqualTo(BranchState.READY);
    }

    @Test
    void deleteStopsTheRunningEndpointAndRemovesEverything() {
        OperationId create = createBranch("dev", new BranchTarget.Head(), true, ExecutionStatus.SUCCEEDED);
        BranchId dev = StepIds.newBranch(create);
        EndpointId ep = StepIds.branchEndpoint(create);
        TimelineId devTimeline = branch(dev).timeline();
        assertThat(wake(ep, dev).status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(h.compute.runningCount()).isEqualTo(1);

        OperationId del = schedule(OperationKind.DELETE_BRANCH, dev, Optional.of(ep));
        ExecutionResult r = run(Workflow.DELETE_BRANCH, deleteInput(del, dev), functions);
        assertThat(r.status()).as(r.cause()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(r.statesVisited()).contains("MarkSuspending", "StopPostgres", "DeleteBranchTimeline");
        assertThat(h.store.getBranch(PROJECT, dev)).isEmpty();
        assertThat(h.store.getBranchByName(PROJECT, "dev")).isEmpty();
        assertThat(h.store.getEndpoint(ep)).isEmpty();
        assertThat(h.storage.timelines()).doesNotContain(devTimeline).contains(TIMELINE);
        assertThat(h.compute.runningCount()).isZero();
        assertThat(h.agent(AGENT_A).state()).isEqualTo(AgentState.IDLE);
        assertThat(h.agent(AGENT_B).state()).isEqualTo(AgentState.IDLE);
        assertThat(h.operation(del).state()).isEqualTo(OperationState.SUCCEEDED);
    }

    @Test
    void aFailedStopQuarantinesTheAgentAndANewDeleteFinishes() {
        OperationId create = createBranch("dev", new BranchTarget.Head(), true, ExecutionStatus.SUCCEEDED);
        BranchId dev = StepIds.newBranch(create);
        EndpointId ep = StepIds.branchEndpoint(create);
        assertThat(wake(ep, dev).status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        h.compute.faults().failNext("stopPostgres", 1, () -> new IllegalStateException("agent unreachable"));

        OperationId del = schedule(OperationKind.DELETE_BRANCH, dev, Optional.of(ep));
        ExecutionResult r = run(Workflow.DELETE_BRANCH, deleteInput(del, dev), functions);
        assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r.statesVisited()).contains("MarkEndpointFailed", "RecordFailure");
        assertThat(branch(dev).state()).isEqualTo(BranchState.DELETING);
        assertThat(h.endpoint(ep).state()).isEqualTo(EndpointState.SUSPENDED);
        assertThat(h.compute.retired()).hasSize(1);

        OperationId again = schedule(OperationKind.DELETE_BRANCH, dev, Optional.of(ep));
        assertThat(run(Workflow.DELETE_BRANCH, deleteInput(again, dev), functions).status())
                .isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(h.store.getBranch(PROJECT, dev)).isEmpty();
        assertThat(h.store.getEndpoint(ep)).isEmpty();
    }

    // ---------------------------------------------------------------- restore

    OperationId restore(BranchId source, BranchTarget target, ExecutionStatus expected) {
        OperationId op = schedule(OperationKind.RESTORE_BRANCH, MAIN, Optional.of(ENDPOINT));
        ExecutionResult r = run(Workflow.RESTORE, restoreInput(op, MAIN, source, target, ""), functions);
        assertThat(r.status()).as(r.error() + ": " + r.cause()).isEqualTo(expected);
        return op;
    }

    String lastStartedTimeline() {
        return h.compute.faults().calls().stream().filter(c -> c.startsWith("startPostgres ")).reduce((a, b) -> b)
                .orElseThrow().split(" ")[3];
    }

    @Test
    void restoreToATimeKeepsTheBackupAndRestartsTheEndpointOnTheNewTimeline() {
        assertThat(wake(ENDPOINT, MAIN).status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        OperationId op = restore(MAIN, new BranchTarget.AtTime(T0.plusSeconds(30)), ExecutionStatus.SUCCEEDED);

        TimelineId restored = StepIds.childTimeline(op);
        Branch main = branch(MAIN);
        assertThat(main.timeline()).isEqualTo(restored);
        assertThat(main.branchLsn()).contains(LSN_2);
        assertThat(h.storage.timeline(restored).orElseThrow().ancestor()).contains(TIMELINE);
        assertThat(h.storage.timeline(restored).orElseThrow().branchLsn()).contains(LSN_2);
        String backupName = BranchSteps.backupName("main", h.operation(op).createdAt());
        Branch backup = h.store.getBranchByName(PROJECT, backupName).orElseThrow();
        assertThat(backup.timeline()).isEqualTo(TIMELINE);
        assertThat(backup.state()).isEqualTo(BranchState.READY);
        assertThat(backup.parent()).isEmpty();
        assertThat(main.parent()).contains(backup.id());
        assertThat(h.endpoint(ENDPOINT).state()).isEqualTo(EndpointState.RUNNING);
        assertThat(lastStartedTimeline()).isEqualTo(restored.toString());
        assertThat(h.compute.runningCount()).isEqualTo(1);
        assertThat(h.operation(op).state()).isEqualTo(OperationState.SUCCEEDED);
    }

    @Test
    void restoreRetriesATransientFailure() {
        h.storage.faults().failNext("createBranchTimeline", 2, () -> new TransientStepException("safekeeper busy"));
        OperationId op = restore(MAIN, new BranchTarget.AtLsn(LSN_1), ExecutionStatus.SUCCEEDED);
        assertThat(branch(MAIN).timeline()).isEqualTo(StepIds.childTimeline(op));
        assertThat(h.storage.faults().count("createBranchTimeline")).isEqualTo(3);
    }

    @Test
    void aFailureBeforeTheRepointIsCompensated() {
        assertThat(wake(ENDPOINT, MAIN).status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        String address = h.endpoint(ENDPOINT).address().orElseThrow();
        h.storage.faults().failNext("createBranchTimeline", 1, () -> new IllegalStateException("pageserver refused"));
        OperationId op = restore(MAIN, new BranchTarget.AtLsn(LSN_2), ExecutionStatus.FAILED);

        assertThat(h.operation(op).error().orElseThrow()).contains("pageserver refused");
        assertThat(branch(MAIN).timeline()).isEqualTo(TIMELINE);
        assertThat(h.store.listBranches(PROJECT)).extracting(Branch::id).containsExactly(MAIN);
        assertThat(h.storage.timelines()).containsExactly(TIMELINE);
        assertThat(h.endpoint(ENDPOINT).state()).isEqualTo(EndpointState.RUNNING);
        assertThat(h.endpoint(ENDPOINT).address()).contains(address);
    }

    @Test
    void aFailureAfterTheRepointGoesForwardAndTheNextWakeServesTheRestoredData() {
        assertThat(wake(ENDPOINT, MAIN).status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        h.compute.faults().failNext("startPostgres", 1, () -> new IllegalStateException("no basebackup"));
        OperationId op = restore(MAIN, new BranchTarget.AtLsn(LSN_2), ExecutionStatus.FAILED);

        TimelineId restored = StepIds.childTimeline(op);
        assertThat(branch(MAIN).timeline()).isEqualTo(restored);
        assertThat(branch(StepIds.backupBranch(op)).state()).isEqualTo(BranchState.READY);
        assertThat(h.storage.timelines()).contains(restored, TIMELINE);
        assertThat(h.endpoint(ENDPOINT).state()).isEqualTo(EndpointState.SUSPENDED);
        assertThat(h.agent(AGENT_A).state()).isEqualTo(AgentState.IDLE);
        assertThat(h.agent(AGENT_B).state()).isEqualTo(AgentState.IDLE);
        assertThat(h.operation(op).error().orElseThrow()).contains("no basebackup");

        assertThat(wake(ENDPOINT, MAIN).status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(lastStartedTimeline()).isEqualTo(restored.toString());
    }

    @Test
    void aTimeInTheFutureIsRefused() {
        OperationId op = restore(MAIN, new BranchTarget.AtTime(java.time.Instant.now().plusSeconds(3600)),
                ExecutionStatus.FAILED);
        assertThat(h.operation(op).error().orElseThrow()).contains("is in the future");
        assertThat(branch(MAIN).timeline()).isEqualTo(TIMELINE);
        assertThat(h.store.listBranches(PROJECT)).hasSize(1);
    }

    @Test
    void undoARestoreByRestoringFromTheBackup() {
        OperationId first = restore(MAIN, new BranchTarget.AtTime(T0.plusSeconds(30)), ExecutionStatus.SUCCEEDED);
        BranchId backup = StepIds.backupBranch(first);
        TimelineId restored = StepIds.childTimeline(first);

        OperationId undo = restore(backup, new BranchTarget.Head(), ExecutionStatus.SUCCEEDED);
        TimelineId undone = StepIds.childTimeline(undo);
        Branch main = branch(MAIN);
        assertThat(main.timeline()).isEqualTo(undone);
        assertThat(main.parent()).contains(backup);
        assertThat(main.branchLsn()).contains(HEAD);
        assertThat(h.storage.timeline(undone).orElseThrow().ancestor()).contains(TIMELINE);
        // the restored state is kept too, as a second backup (a name of its own even within one second)
        Branch second = branch(StepIds.backupBranch(undo));
        assertThat(second.timeline()).isEqualTo(restored);
        assertThat(second.name()).startsWith("main_old_").isNotEqualTo(branch(backup).name());
        assertThat(h.store.listBranches(PROJECT)).hasSize(3);
    }
}
