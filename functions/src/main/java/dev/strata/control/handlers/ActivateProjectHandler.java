package dev.strata.control.handlers;

import dev.strata.control.model.Branch;
import dev.strata.control.runtime.ControlPlane;
import java.util.Map;

/**
 * {@code strata-activate-project}, create-project: ActivateProject. The main branch creating -> ready; the operation succeeded.
 * Input: operationId, projectId, branchId. Result: {branchId, state}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#handlers).
 */
public final class ActivateProjectHandler extends StepHandler {

    public static final String FUNCTION = "strata-activate-project";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public ActivateProjectHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public ActivateProjectHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        Branch b = cp.projectSteps().activateProject(in.operationId(), in.projectId(), in.branchId());
        return Map.of("branchId", b.id().toString(), "state", b.state().name());
    }
}
