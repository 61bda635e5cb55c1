package dev.strata.control.handlers;

import dev.strata.control.runtime.ControlPlane;
import java.util.Map;

/**
 * {@code strata-delete-branch-record}, delete-branch: DeleteBranchRecord. The branch's (suspended) endpoints deleted, its name released, its item deleted; the operation succeeded.
 * Input: operationId, projectId, branchId. Result: {branchId, deleted}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#branches-and-restore).
 */
public final class DeleteBranchRecordHandler extends StepHandler {

    public static final String FUNCTION = "strata-delete-branch-record";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public DeleteBranchRecordHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public DeleteBranchRecordHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        cp.branchSteps().deleteBranchRecord(in.operationId(), in.projectId(), in.branchId());
        return Map.of("branchId", in.branchId().toString(), "deleted", true);
    }
}
