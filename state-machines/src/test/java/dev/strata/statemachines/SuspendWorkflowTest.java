package dev.strata.statemachines;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.control.TransientStepException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The suspend workflow (SuspendCompute) on the real engine: each path, the states it visits, what each step got. */
class SuspendWorkflowTest extends WorkflowTestBase {

    private static final String INPUT = """
            {"operationId": "op-2", "endpointId": "ep-1", "agentId": "agent-1", "recoversExecution": ""}""";

    @Test
    void idleComputeIsStoppedItsAgentReturnedAndTheEndpointSuspended() {
        ExecutionResult r = run(Workflow.SUSPEND, INPUT);

        assertThat(r.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(r.statesVisited()).containsExactly("CheckActivity", "IsIdle", "MarkSuspending", "StopPostgres",
                "ReturnAgent", "MarkSuspended", "Suspended");
        assertThat(r.output().path("endpoint").path("state").asText()).isEqualTo("suspended");
        assertThat(standIns.get("release-agent").inputs()).singleElement()
                .satisfies(in -> assertThat(in).containsEntry("agentId", "agent-1"));
        assertThat(standIns.get("mark-endpoint-failed").calls()).isZero();
        assertThat(standIns.get("complete-operation").calls()).isZero();
    }

    @Test
    void computeWithSessionsTheProxyDoesNotKnowStaysRunning() {
        standIns.handlers().add("strata-check-activity", Map.class, (in, ctx) -> Map.of("idle", false, "sessions", 2));

        ExecutionResult r = run(Workflow.SUSPEND, INPUT);

        assertThat(r.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(r.statesVisited()).containsExactly("CheckActivity", "IsIdle", "SkipSuspend", "StillActive");
        assertThat(r.output().path("activity").path("sessions").asInt()).isEqualTo(2);
        assertThat(standIns.get("complete-operation").inputs()).singleElement().satisfies(in -> assertThat(in)
                .containsEntry("operationId", "op-2").containsEntry("outcome", "skipped").containsEntry("sessions", 2));
        assertThat(standIns.get("stop-postgres").calls()).isZero();
        assertThat(standIns.get("mark-endpoint-suspending").calls()).isZero();
    }

    @Test
    void transientStopFailureIsRetriedThenSucceeds() {
        standIns.get("stop-postgres").thenThrow(1, () -> new TransientStepException("agent restarting"));

        ExecutionResult r = run(Workflow.SUSPEND, INPUT);

        assertThat(r.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(r.retries("StopPostgres")).isEqualTo(1);
        assertThat(standIns.get("stop-postgres").calls()).isEqualTo(2);
        assertThat(r.statesVisited()).endsWith("StopPostgres", "ReturnAgent", "MarkSuspended", "Suspended");
    }

    @Test
    void permanentStopFailureMarksTheEndpointFailedAndRecordsTheError() {
        standIns.get("stop-postgres").thenThrow(new IllegalStateException("pg_ctl stop: server did not shut down"));

        ExecutionResult r = run(Workflow.SUSPEND, INPUT);

        assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r.error()).isEqualTo("java.lang.IllegalStateException");
        assertThat(r.statesVisited()).containsExactly("CheckActivity", "IsIdle", "MarkSuspending", "StopPostgres",
                "MarkEndpointFailed", "RecordFailure", "SuspendFailed");
        assertThat(standIns.get("mark-endpoint-failed").inputs()).singleElement()
                .satisfies(in -> assertThat(in).containsEntry("endpointId", "ep-1").containsEntry("agentId", "agent-1"));
        assertThat(standIns.get("record-operation-failure").inputs()).singleElement()
                .satisfies(in -> assertThat(in).containsEntry("operationId", "op-2"));
        assertThat(standIns.get("release-agent").calls()).isZero();
    }

    @Test
    void losingTheRaceToAWakeRecordsTheErrorWithoutTouchingTheCompute() {
        standIns.get("mark-endpoint-suspending").thenThrow(new IllegalStateException("endpoint ep-1 is starting, not running"));

        ExecutionResult r = run(Workflow.SUSPEND, INPUT);

        assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r.statesVisited()).containsExactly("CheckActivity", "IsIdle", "MarkSuspending", "RecordFailure",
                "SuspendFailed");
        assertThat(standIns.get("stop-postgres").calls()).isZero();
        assertThat(standIns.get("mark-endpoint-failed").calls()).isZero();
    }

    @Test
    void aStopThatTimesOutMarksTheEndpointFailed() {
        standIns.get("stop-postgres").thenHang();

        ExecutionResult r = run(withTaskTimeoutOfOneSecond(Workflow.SUSPEND, "StopPostgres"), INPUT);

        assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r.error()).isEqualTo(WorkflowErrors.TIMEOUT);
        assertThat(r.statesVisited()).endsWith("StopPostgres", "MarkEndpointFailed", "RecordFailure", "SuspendFailed");
    }
}
