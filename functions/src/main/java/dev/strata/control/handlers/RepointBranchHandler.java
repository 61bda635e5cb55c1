package dev.strata.control.handlers;

import dev.strata.control.model.Branch;
import dev.strata.control.runtime.ControlPlane;
import java.util.Map;

/**
 * {@code strata-repoint-branch}, restore: RepointBranch, the point of no return. The branch moved to the new timeline (a child of the backup, or of the source branch, at the restore LSN); the backup ready.
 * Input: operationId, projectId, branchId, sourceBranchId, timelineId, lsn. Result: {branchId, timelineId, parentBranchId, lsn}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#branches-and-restore).
 */
public final class RepointBranchHandler extends StepHandler {

    public static final String FUNCTION = "strata-repoint-branch";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public RepointBranchHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public RepointBranchHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        Branch b = cp.branchSteps().repointBranch(in.operationId(), in.projectId(), in.branchId(),
                in.parsedBranch("sourceBranchId"), in.timelineId(), in.lsn("lsn"));
        return Map.of("branchId", b.id().toString(), "timelineId", b.timeline().toString(),
                "parentBranchId", b.parent().orElseThrow().toString(), "lsn", b.branchLsn().orElseThrow().toString());
    }
}
