package dev.strata.controlapi.wake;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationKind;
import dev.strata.control.model.OperationState;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.ProjectId;
import java.time.Instant;
import java.util.Optional;

import org.junit.jupiter.api.Test;

/**
 * A wake that failed only because another operation held the endpoint (seen killing `strata up`
 * during restores: the proxy's wake raced the restore's recovery) is waited out, not passed to
 * the client as a refusal; one that failed on something that may pass (an agent that did not
 * answer, retired by the compensation) is woken once more; any other failure is a refusal.
 */
class HeldByAnotherTest {

    private static Operation failed(String error) {
        Instant t = Instant.parse("2026-12-07T06:32:23Z");
        return new Operation(OperationId.of("op-abc"), ProjectId.of("default"), OperationKind.START_COMPUTE,
                OperationState.FAILED, Optional.empty(), Optional.of(EndpointId.of("main")), Optional.empty(),
                Optional.ofNullable(error), Optional.empty(), t, t, 3);
    }

    @Test
    void aBusyEndpointIsHeldByAnotherOperation() {
        assertThat(ControlPlaneWake.heldByAnother(failed("dev.strata.control.EndpointBusyException: {\"errorMessage\":"
                + "\"endpoint main is WAKING (held by operation op-2eewg77gajvqp6jc)\"}"))).isTrue();
    }

    @Test
    void aFailureOnSomethingThatMayPassIsWokenAgainOnce() {
        assertThat(ControlPlaneWake.transientFailure(failed("dev.strata.control.TransientStepException: agent agent-3 "
                + "at 10.0.3.7:3080 did not answer (start Postgres for endpoint main)"))).isTrue();
        assertThat(ControlPlaneWake.transientFailure(failed("dev.strata.control.StepFailedException: no agent"))).isFalse();
        assertThat(ControlPlaneWake.transientFailure(failed(null))).isFalse();
    }

    @Test
    void anyOtherFailureIsNot() {
        assertThat(ControlPlaneWake.heldByAnother(failed("dev.strata.control.StepFailedException: no agent"))).isFalse();
        assertThat(ControlPlaneWake.heldByAnother(failed("the workflow timed out; EndpointBusyException"))).isFalse();
        assertThat(ControlPlaneWake.heldByAnother(failed(null))).isFalse();
    }
}
