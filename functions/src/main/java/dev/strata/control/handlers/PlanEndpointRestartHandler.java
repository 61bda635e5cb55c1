package dev.strata.control.handlers;

import dev.strata.control.runtime.ControlPlane;
import java.util.Map;

/**
 * {@code strata-plan-endpoint-restart}, restore: PlanEndpointRestart. What the branch's endpoint needs to serve the restored data: suspend (then wake), wake (the suspend already ran), or none.
 * Input: operationId, projectId. Result: {phase (suspend | wake | none), endpointId, agentId (with suspend)}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#branches-and-restore).
 */
public final class PlanEndpointRestartHandler extends StepHandler {

    public static final String FUNCTION = "strata-plan-endpoint-restart";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public PlanEndpointRestartHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public PlanEndpointRestartHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        return PlanHandlers.plan(cp.branchSteps().planEndpointRestart(in.operationId(), in.projectId()));
    }
}
