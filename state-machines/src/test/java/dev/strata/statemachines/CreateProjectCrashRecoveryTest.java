package dev.strata.statemachines;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.control.model.Branch;
import dev.strata.control.model.BranchState;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationKind;
import dev.strata.control.model.OperationState;
import dev.strata.control.model.Project;
import dev.strata.control.service.StepIds;
import dev.strata.pgcore.id.ProjectId;
import dev.strata.pgcore.id.TimelineId;
import java.time.Instant;
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
 * create-project crashed after each of its steps ({@link CrashAfter}), before the first, and after
 * each call of its compensation; then recovered as restore is ({@link RestoreCrashRecoveryTest}).
 * Checked: the operation finished; SUCCEEDED, the project's main branch is READY on a timeline the
 * storage has and its endpoint SUSPENDED; FAILED (the compensation had marked the branch DELETING
 * before the crash), no endpoint and no timeline left; in both, no project or live branch points at a
 * timeline the storage does not have and the storage has no timeline no branch names.
 */
class CreateProjectCrashRecoveryTest extends BranchWorkflowBase {

    static final List<String> CREATE = List.of("strata-create-project-record", "strata-create-timeline",
            "strata-create-endpoint", "strata-activate-project");
    static final List<String> COMPENSATION = List.of("strata-create-project-record", "strata-create-timeline",
            "strata-delete-timeline", "strata-mark-project-failed", "strata-record-operation-failure");

    static Stream<Integer> createCrashPoints() {
        return IntStream.rangeClosed(0, CREATE.size()).boxed();
    }

    /** After the failing call (its own error, not the crash) and after each compensation call. */
    static Stream<Integer> compensationCrashPoints() {
        return IntStream.rangeClosed(2, COMPENSATION.size()).boxed();
    }

    OperationId newProject() {
        OperationId id = OperationId.of("op-crashproject" + (++ops));
        h.store.createOperation(Operation.schedule(id, ProjectId.of("p-crash" + ops), OperationKind.CREATE_PROJECT,
                Optional.empty(), Optional.empty(), Instant.now()));
        return id;
    }

    Map<String, Object> input(OperationId op) {
        return Map.of("operationId", op.toString(), "projectId", h.operation(op).project().toString(),
                "name", "crash test", "pgVersion", 17, "recoversExecution", "");
    }

    @ParameterizedTest(name = "create-project, crash after {0} steps")
    @MethodSource("createCrashPoints")
    void aCrashedCreationIsRecovered(int after) {
        OperationId op = newProject();
        runCrashed(Workflow.CREATE_PROJECT, input(op), after, CREATE);
        recover(Workflow.CREATE_PROJECT, op, input(op)).ifPresent(r -> assertThat(r.status())
                .as(r.error() + ": " + r.cause()).isEqualTo(ExecutionStatus.SUCCEEDED));

        assertThat(h.operation(op).state()).isEqualTo(OperationState.SUCCEEDED);
        ProjectId project = h.operation(op).project();
        assertThat(h.store.getProject(project)).map(Project::name).contains("crash test");
        Branch main = h.store.getBranch(project, StepIds.mainBranch(op)).orElseThrow();
        assertThat(main.state()).isEqualTo(BranchState.READY);
        assertThat(main.timeline()).isEqualTo(StepIds.mainTimeline(op));
        assertThat(h.endpoint(StepIds.defaultEndpoint(op)).state()).isEqualTo(EndpointState.SUSPENDED);
        assertEveryLiveBranchHasItsTimeline(project);
    }

    @ParameterizedTest(name = "create-project, timeline fails, crash after {0} calls")
    @MethodSource("compensationCrashPoints")
    void aCrashDuringTheCompensationIsRecovered(int after) {
        h.storage.faults().failNext("createTimeline", 1, () -> new IllegalStateException("pageserver refused"));
        OperationId op = newProject();
        runCrashed(Workflow.CREATE_PROJECT, input(op), after, COMPENSATION);
        // before MarkProjectFailed the recovery creates the project; after it, the project is given up
        boolean givenUp = after >= 4;
        recover(Workflow.CREATE_PROJECT, op, input(op)).ifPresent(r -> {
            assertThat(r.status()).as(r.error() + ": " + r.cause())
                    .isEqualTo(givenUp ? ExecutionStatus.FAILED : ExecutionStatus.SUCCEEDED);
            if (givenUp) {
                assertThat(r.cause()).contains("its main branch is being deleted");
            }
        });

        ProjectId project = h.operation(op).project();
        Branch main = h.store.getBranch(project, StepIds.mainBranch(op)).orElseThrow();
        if (givenUp) {
            assertThat(h.operation(op).state()).isEqualTo(OperationState.FAILED);
            assertThat(main.state()).isEqualTo(BranchState.DELETING);
            assertThat(h.store.getEndpoint(StepIds.defaultEndpoint(op))).isEmpty();
            assertThat(h.storage.timeline(main.timeline())).isEmpty();
        } else {
            assertThat(h.operation(op).state()).isEqualTo(OperationState.SUCCEEDED);
            assertThat(main.state()).isEqualTo(BranchState.READY);
            assertThat(h.endpoint(StepIds.defaultEndpoint(op)).state()).isEqualTo(EndpointState.SUSPENDED);
        }
        assertEveryLiveBranchHasItsTimeline(project);
    }

    /**
     * A crash inside CreateProjectRecord, between its project and branch writes (which the
     * workflow's catch cannot compensate: no step ran to fail): the project without a branch,
     * the operation RUNNING as the dead execution. The recovery writes the branch and finishes.
     */
    @Test
    void aCrashBetweenTheProjectAndTheBranchWriteIsRecovered() {
        OperationId op = newProject();
        Operation scheduled = h.operation(op);
        h.store.updateOperation(scheduled, scheduled.running("arn:aws:states:local:0:execution:dead", Instant.now()));
        h.store.createProject(Project.create(scheduled.project(), "crash test", scheduled.createdAt()));
        assertThat(h.store.listBranches(scheduled.project())).isEmpty();

        ExecutionResult r = recover(Workflow.CREATE_PROJECT, op, input(op)).orElseThrow();
        assertThat(r.status()).as(r.error() + ": " + r.cause()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(h.store.getBranch(scheduled.project(), StepIds.mainBranch(op)).map(Branch::state))
                .contains(BranchState.READY);
        assertEveryLiveBranchHasItsTimeline(scheduled.project());
    }

    /**
     * The new project's branches that are not being deleted, and the seeded project's, name exactly
     * the timelines the storage has.
     */
    void assertEveryLiveBranchHasItsTimeline(ProjectId project) {
        Set<TimelineId> live = Stream.concat(h.store.listBranches(project).stream(), h.store.listBranches(PROJECT).stream())
                .filter(b -> b.state() != BranchState.DELETING).map(Branch::timeline).collect(Collectors.toSet());
        assertThat(h.storage.timelines()).containsExactlyInAnyOrderElementsOf(live);
    }
}
