package dev.strata.statemachines;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.control.AgentStartingException;
import dev.strata.control.TransientStepException;
import org.junit.jupiter.api.Test;

/** The wake workflow (StartCompute) on the real engine: each path, the states it visits, what each step got. */
class WakeWorkflowTest extends WorkflowTestBase {

    private static final String INPUT = """
            {"operationId": "op-1", "endpointId": "ep-1", "projectId": "pr-1", "branchId": "br-main",
             "recoversExecution": ""}""";

    @Test
    void wakeClaimsElectsStartsAndMarksRunning() {
        ExecutionResult r = run(Workflow.WAKE, INPUT);

        assertThat(r.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(r.statesVisited()).containsExactly("ClaimAgent", "Elect", "StartPostgres", "MarkRunning", "Woken");
        assertThat(r.output().path("compute").path("address").asText()).isEqualTo("127.0.0.1:55432");
        assertThat(r.output().path("endpoint").path("state").asText()).isEqualTo("running");
        // each step gets what the previous ones produced
        assertThat(standIns.get("start-postgres").inputs()).singleElement().satisfies(in -> {
            assertThat(in).containsEntry("agentId", "agent-1").containsEntry("term", 7)
                    .containsEntry("startLsn", "0/1A2B3C8").containsEntry("endpointId", "ep-1");
        });
        assertThat(standIns.get("mark-endpoint-running").inputs()).singleElement()
                .satisfies(in -> assertThat(in).containsEntry("address", "127.0.0.1:55432"));
        assertThat(standIns.get("release-agent").calls()).isZero();
        assertThat(standIns.get("record-operation-failure").calls()).isZero();
    }

    @Test
    void transientElectionFailureIsRetriedThenSucceeds() {
        standIns.get("elect").thenThrow(2, () -> new TransientStepException("safekeeper sk-2 did not answer"));

        ExecutionResult r = run(Workflow.WAKE, INPUT);

        assertThat(r.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(r.retries("Elect")).isEqualTo(2);
        assertThat(r.failures("Elect")).containsExactly(WorkflowErrors.TRANSIENT, WorkflowErrors.TRANSIENT);
        assertThat(standIns.get("elect").calls()).isEqualTo(3);
        assertThat(r.statesVisited()).containsExactly("ClaimAgent", "Elect", "StartPostgres", "MarkRunning", "Woken");
        assertThat(standIns.get("release-agent").calls()).isZero();
    }

    @Test
    void aComputeTaskStillStartingIsWaitedForLongerThanATransientError() {
        // more tries than a transient error gets (MaxAttempts 3): a launched task takes a minute or two
        standIns.get("claim-agent").thenThrow(6, () -> new AgentStartingException("compute task t-1 is PENDING"));

        ExecutionResult r = run(Workflow.WAKE, INPUT);

        assertThat(r.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(r.retries("ClaimAgent")).isEqualTo(6);
        assertThat(r.failures("ClaimAgent")).containsOnly(WorkflowErrors.AGENT_STARTING);
        assertThat(r.statesVisited()).containsExactly("ClaimAgent", "Elect", "StartPostgres", "MarkRunning", "Woken");
    }

    @Test
    void aComputeTaskThatNeverJoinsFailsTheWakeAfterItsOwnBound() {
        standIns.get("claim-agent").thenThrow(100, () -> new AgentStartingException("compute task t-1 is PENDING"));

        ExecutionResult r = run(Workflow.WAKE, INPUT);

        assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r.error()).isEqualTo(WorkflowErrors.AGENT_STARTING);
        assertThat(standIns.get("claim-agent").calls()).isEqualTo(13); // the first try and MaxAttempts 12
        assertThat(r.statesVisited()).endsWith("ClaimAgent", "MarkEndpointSuspended", "RecordFailure", "WakeFailed");
    }

    @Test
    void transientFailureThatPersistsIsCompensatedAfterMaxAttempts() {
        standIns.get("start-postgres").thenThrow(10, () -> new TransientStepException("pageserver busy"));

        ExecutionResult r = run(Workflow.WAKE, INPUT);

        assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r.error()).isEqualTo(WorkflowErrors.TRANSIENT);
        assertThat(standIns.get("start-postgres").calls()).isEqualTo(4); // the first try and MaxAttempts 3
        assertThat(r.statesVisited()).endsWith("StartPostgres", "ReleaseAgent", "MarkEndpointSuspended",
                "RecordFailure", "WakeFailed");
    }

    @Test
    void permanentStartFailureReleasesTheAgentMarksSuspendedAndRecordsTheError() {
        standIns.get("start-postgres").thenThrow(new IllegalStateException("postgres exited with code 1"));

        ExecutionResult r = run(Workflow.WAKE, INPUT);

        assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r.error()).isEqualTo("java.lang.IllegalStateException");
        assertThat(r.cause()).contains("postgres exited with code 1");
        assertThat(r.retries("StartPostgres")).isZero();
        assertThat(r.statesVisited()).containsExactly("ClaimAgent", "Elect", "StartPostgres", "ReleaseAgent",
                "MarkEndpointSuspended", "RecordFailure", "WakeFailed");
        assertThat(standIns.get("release-agent").inputs()).singleElement()
                .satisfies(in -> assertThat(in).containsEntry("agentId", "agent-1").containsEntry("endpointId", "ep-1"));
        assertThat(standIns.get("record-operation-failure").inputs()).singleElement().satisfies(in -> {
            assertThat(in).containsEntry("operationId", "op-1");
            assertThat(in.get("error")).asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.MAP)
                    .containsEntry("Error", "java.lang.IllegalStateException");
        });
        assertThat(standIns.get("mark-endpoint-running").calls()).isZero();
    }

    @Test
    void claimFailureHasNoAgentToReleaseAndMarksSuspended() {
        standIns.get("claim-agent").thenThrow(new IllegalStateException("the warm pool is empty"));

        ExecutionResult r = run(Workflow.WAKE, INPUT);

        assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r.statesVisited()).containsExactly("ClaimAgent", "MarkEndpointSuspended", "RecordFailure", "WakeFailed");
        assertThat(standIns.get("release-agent").calls()).isZero();
    }

    @Test
    void aFailingCompensationStillRecordsTheOriginalError() {
        standIns.get("elect").thenThrow(new IllegalArgumentException("timeline not found"));
        standIns.get("release-agent").thenThrow(new IllegalStateException("agent agent-1 unreachable"));

        ExecutionResult r = run(Workflow.WAKE, INPUT);

        assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r.error()).isEqualTo("java.lang.IllegalArgumentException");
        assertThat(r.statesVisited()).containsExactly("ClaimAgent", "Elect", "ReleaseAgent", "MarkEndpointSuspended",
                "RecordFailure", "WakeFailed");
        assertThat(standIns.get("mark-endpoint-suspended").inputs()).singleElement()
                .satisfies(in -> assertThat(in).containsEntry("endpointId", "ep-1"));
    }

    @Test
    void aStartThatTimesOutIsCompensatedNotRetried() {
        standIns.get("start-postgres").thenHang();

        ExecutionResult r = run(withTaskTimeoutOfOneSecond(Workflow.WAKE, "StartPostgres"), INPUT);

        assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r.error()).isEqualTo(WorkflowErrors.TIMEOUT);
        assertThat(r.retries("StartPostgres")).isZero();
        assertThat(r.statesVisited()).containsExactly("ClaimAgent", "Elect", "StartPostgres", "ReleaseAgent",
                "MarkEndpointSuspended", "RecordFailure", "WakeFailed");
        assertThat(standIns.get("release-agent").calls()).isEqualTo(1);
    }

    @Test
    void theRealDefinitionIsRunNotACopy() {
        // the tests above run Workflow.WAKE's resource; make sure its task names are the ones they script
        assertThat(Workflow.WAKE.rawDefinition()).contains("function:strata-claim-agent", "function:strata-elect",
                "function:strata-start-postgres", "function:strata-release-agent");
    }
}
