package dev.strata.control.handlers;

import dev.strata.control.runtime.ControlPlane;
import dev.strata.control.service.BranchSteps;
import java.util.Map;

/**
 * {@code strata-activate-branch}, create-branch: ActivateBranch. The branch's endpoint (suspended) if asked for; the branch creating -> ready; the operation succeeded.
 * Input: operationId, projectId, branchId, createEndpoint (boolean). Result: {branchId, state, endpointId ("" if none)}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#branches-and-restore).
 */
public final class ActivateBranchHandler extends StepHandler {

    public static final String FUNCTION = "strata-activate-branch";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public ActivateBranchHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public ActivateBranchHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        BranchSteps.Activated a = cp.branchSteps().activateBranch(in.operationId(), in.projectId(), in.branchId(),
                in.bool("createEndpoint"));
        return Map.of("branchId", a.branch().id().toString(), "state", a.branch().state().name(),
                "endpointId", a.endpoint().map(Object::toString).orElse(""));
    }
}
