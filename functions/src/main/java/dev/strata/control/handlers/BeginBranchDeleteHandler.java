package dev.strata.control.handlers;

import dev.strata.control.runtime.ControlPlane;
import dev.strata.control.service.BranchSteps;
import java.util.Map;

/**
 * {@code strata-begin-branch-delete}, delete-branch: BeginBranchDelete. The operation running; refused while the branch has children (named); the branch ready -> deleting; whether its endpoint must be stopped.
 * Input: operationId, projectId, branchId, executionArn, recoversExecution. Result: {timelineId, phase (suspend | none), endpointId, agentId (with suspend)}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#branches-and-restore).
 */
public final class BeginBranchDeleteHandler extends StepHandler {

    public static final String FUNCTION = "strata-begin-branch-delete";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public BeginBranchDeleteHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public BeginBranchDeleteHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        BranchSteps.EndpointPlan plan = cp.branchSteps().beginBranchDelete(in.operationId(), in.projectId(),
                in.branchId(), in.string("executionArn"), in.optionalString("recoversExecution"));
        Map<String, Object> out = PlanHandlers.plan(plan);
        cp.metadata().getBranch(in.projectId(), in.branchId())
                .ifPresent(b -> out.put("timelineId", b.timeline().toString()));
        return out;
    }
}
