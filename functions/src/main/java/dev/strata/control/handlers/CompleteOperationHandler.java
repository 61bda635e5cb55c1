package dev.strata.control.handlers;

import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationKind;
import dev.strata.control.runtime.ControlPlane;
import java.util.EnumSet;
import java.util.Map;

/**
 * {@code strata-complete-operation}, suspend: SkipSuspend. The operation succeeded with an outcome (skipped: sessions are open) and nothing changed.
 * Input: operationId, outcome, sessions. Result: {operationId, state, outcome}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#handlers).
 */
public final class CompleteOperationHandler extends StepHandler {

    public static final String FUNCTION = "strata-complete-operation";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public CompleteOperationHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public CompleteOperationHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        String outcome = in.string("outcome");
        Operation o = cp.operations().succeed(cp.operations().require(in.operationId(),
                EnumSet.allOf(OperationKind.class)));
        return Map.of("operationId", o.id().toString(), "state", o.state().name(), "outcome", outcome);
    }
}
