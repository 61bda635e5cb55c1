package dev.strata.control.handlers;

import dev.strata.control.model.Branch;
import dev.strata.control.runtime.ControlPlane;
import java.util.Map;

/**
 * {@code strata-create-backup-branch}, restore: CreateBackupBranch. The backup branch <branch>_old_<time>, creating, on the branch's current timeline with its parent and LSN.
 * Input: operationId, projectId, branchId. Result: {backupBranchId, name, timelineId}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#branches-and-restore).
 */
public final class CreateBackupBranchHandler extends StepHandler {

    public static final String FUNCTION = "strata-create-backup-branch";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public CreateBackupBranchHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public CreateBackupBranchHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        Branch b = cp.branchSteps().createBackupBranch(in.operationId(), in.projectId(), in.branchId());
        return Map.of("backupBranchId", b.id().toString(), "name", b.name(), "timelineId", b.timeline().toString());
    }
}
