package dev.strata.control.handlers;

import dev.strata.control.runtime.ControlPlane;
import dev.strata.control.service.BranchSteps;
import java.util.Map;

/**
 * {@code strata-create-branch-record}, create-branch: CreateBranchRecord. The operation running; the branch point resolved on the parent's timeline; the branch creating, its name claimed; the parent rewritten so a concurrent delete or restore of it notices.
 * Input: operationId, projectId, name, parentBranchId, target ({kind, value}), executionArn, recoversExecution ("" unless recovering). Result: {branchId, timelineId, parentTimelineId, lsn}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#branches-and-restore).
 */
public final class CreateBranchRecordHandler extends StepHandler {

    public static final String FUNCTION = "strata-create-branch-record";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public CreateBranchRecordHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public CreateBranchRecordHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        BranchSteps.BranchCreated c = cp.branchSteps().createBranchRecord(in.operationId(), in.projectId(),
                in.string("name"), in.parsedBranch("parentBranchId"), in.target("target"), in.string("executionArn"),
                in.optionalString("recoversExecution"));
        return Map.of("branchId", c.branch().toString(), "timelineId", c.timeline().toString(),
                "parentTimelineId", c.parentTimeline().toString(), "lsn", c.lsn().toString());
    }
}
