package dev.strata.control.handlers;

import dev.strata.control.runtime.ControlPlane;
import java.util.Map;

/**
 * {@code strata-discard-branch}, create-branch: DiscardBranch (compensation). The endpoint, branch item and name claim the operation made, removed.
 * Input: operationId, projectId, name, executionArn. Result: {outcome (discarded | not-running)}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#branches-and-restore).
 */
public final class DiscardBranchHandler extends StepHandler {

    public static final String FUNCTION = "strata-discard-branch";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public DiscardBranchHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public DiscardBranchHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        return Map.of("outcome", cp.branchSteps().discardBranch(in.operationId(), in.projectId(), in.string("name"),
                in.string("executionArn")));
    }
}
