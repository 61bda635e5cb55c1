package dev.strata.control.handlers;

import dev.strata.control.model.Operation;
import dev.strata.control.runtime.ControlPlane;
import java.util.Map;

/**
 * {@code strata-record-operation-failure}, every workflow: RecordFailure (compensation). The operation failed with the error that stopped it.
 * Input: operationId, error ({Error, Cause}). Result: {operationId, state}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#handlers).
 */
public final class RecordOperationFailureHandler extends StepHandler {

    public static final String FUNCTION = "strata-record-operation-failure";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public RecordOperationFailureHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public RecordOperationFailureHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        Operation o = cp.operations().fail(in.operationId(), in.error("error"));
        return Map.of("operationId", o.id().toString(), "state", o.state().name());
    }
}
