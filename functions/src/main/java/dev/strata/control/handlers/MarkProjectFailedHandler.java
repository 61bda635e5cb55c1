package dev.strata.control.handlers;

import dev.strata.control.model.BranchState;
import dev.strata.control.runtime.ControlPlane;
import java.util.Map;

/**
 * {@code strata-mark-project-failed}, create-project: MarkProjectFailed (compensation). The default endpoint deleted, the main branch creating -> deleting.
 * Input: operationId, projectId. Result: {branchState}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#handlers).
 */
public final class MarkProjectFailedHandler extends StepHandler {

    public static final String FUNCTION = "strata-mark-project-failed";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public MarkProjectFailedHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public MarkProjectFailedHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        BranchState s = cp.projectSteps().markProjectFailed(in.operationId(), in.projectId());
        return Map.of("branchState", s.name());
    }
}
