package dev.strata.control.handlers;

import dev.strata.control.runtime.ControlPlane;
import dev.strata.control.service.BranchSteps;
import java.util.Map;

/**
 * {@code strata-begin-restore}, restore: BeginRestore. The operation running; refused while the branch has children; the restore point resolved on the source's timeline (a time outside its history fails the operation).
 * Input: operationId, projectId, branchId, sourceBranchId, target ({kind, value}), executionArn, recoversExecution. Result: {sourceTimelineId, lsn, timelineId, backupBranchId, backupName}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#branches-and-restore).
 */
public final class BeginRestoreHandler extends StepHandler {

    public static final String FUNCTION = "strata-begin-restore";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public BeginRestoreHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public BeginRestoreHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        BranchSteps.RestorePlan p = cp.branchSteps().beginRestore(in.operationId(), in.projectId(), in.branchId(),
                in.parsedBranch("sourceBranchId"), in.target("target"), in.string("executionArn"),
                in.optionalString("recoversExecution"));
        return Map.of("sourceTimelineId", p.sourceTimeline().toString(), "lsn", p.lsn().toString(),
                "timelineId", p.timeline().toString(), "backupBranchId", p.backup().toString(),
                "backupName", p.backupName());
    }
}
