package dev.strata.statemachines;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.control.TransientStepException;
import org.junit.jupiter.api.Test;

/** The create-project workflow on the real engine: each path, the states it visits, what each step got. */
class CreateProjectWorkflowTest extends WorkflowTestBase {

    private static final String INPUT = """
            {"operationId": "op-3", "projectId": "pr-1", "name": "shop", "pgVersion": 17, "recoversExecution": ""}""";

    @Test
    void createsRecordsTimelineEndpointThenActivates() {
        ExecutionResult r = run(Workflow.CREATE_PROJECT, INPUT);

        assertThat(r.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(r.statesVisited()).containsExactly("CreateProjectRecord", "CreateTimeline", "CreateEndpoint",
                "ActivateProject", "ProjectCreated");
        assertThat(standIns.get("create-timeline").inputs()).singleElement().satisfies(in -> assertThat(in)
                .containsEntry("timelineId", StandIns.TIMELINE).containsEntry("branchId", "br-main")
                .containsEntry("pgVersion", 17));
        assertThat(r.output().path("endpoint").path("endpointId").asText()).isEqualTo("ep-main");
        assertThat(standIns.get("delete-timeline").calls()).isZero();
    }

    @Test
    void transientTimelineFailureIsRetriedThenSucceeds() {
        standIns.get("create-timeline").thenThrow(2, () -> new TransientStepException("pageserver 503"));

        ExecutionResult r = run(Workflow.CREATE_PROJECT, INPUT);

        assertThat(r.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(r.retries("CreateTimeline")).isEqualTo(2);
        assertThat(standIns.get("create-timeline").calls()).isEqualTo(3);
        assertThat(standIns.get("delete-timeline").calls()).isZero();
    }

    @Test
    void permanentEndpointFailureDeletesTheTimelineAndMarksTheProjectFailed() {
        standIns.get("create-endpoint").thenThrow(new IllegalArgumentException("compute settings out of range"));

        ExecutionResult r = run(Workflow.CREATE_PROJECT, INPUT);

        assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r.error()).isEqualTo("java.lang.IllegalArgumentException");
        assertThat(r.statesVisited()).containsExactly("CreateProjectRecord", "CreateTimeline", "CreateEndpoint",
                "DeleteTimeline", "MarkProjectFailed", "RecordFailure", "CreateProjectFailed");
        assertThat(standIns.get("delete-timeline").inputs()).singleElement()
                .satisfies(in -> assertThat(in).containsEntry("timelineId", StandIns.TIMELINE));
        assertThat(standIns.get("mark-project-failed").inputs()).singleElement()
                .satisfies(in -> assertThat(in).containsEntry("projectId", "pr-1"));
        assertThat(standIns.get("activate-project").calls()).isZero();
    }

    @Test
    void aRecordThatCannotBeCreatedHasNothingToUndo() {
        standIns.get("create-project-record").thenThrow(new IllegalStateException("project pr-1 exists"));

        ExecutionResult r = run(Workflow.CREATE_PROJECT, INPUT);

        assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r.statesVisited()).containsExactly("CreateProjectRecord", "RecordFailure", "CreateProjectFailed");
        assertThat(standIns.get("delete-timeline").calls()).isZero();
        assertThat(standIns.get("mark-project-failed").calls()).isZero();
    }

    @Test
    void aTimelineCreationThatTimesOutIsUndone() {
        standIns.get("create-timeline").thenHang();

        ExecutionResult r = run(withTaskTimeoutOfOneSecond(Workflow.CREATE_PROJECT, "CreateTimeline"), INPUT);

        assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r.error()).isEqualTo(WorkflowErrors.TIMEOUT);
        assertThat(r.statesVisited()).containsExactly("CreateProjectRecord", "CreateTimeline", "DeleteTimeline",
                "MarkProjectFailed", "RecordFailure", "CreateProjectFailed");
    }
}
