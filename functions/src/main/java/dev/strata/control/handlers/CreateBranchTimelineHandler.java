package dev.strata.control.handlers;

import dev.strata.control.runtime.ControlPlane;
import java.util.Map;

/**
 * {@code strata-create-branch-timeline}, create-branch: CreateBranchTimeline; restore: CreateRestoreTimeline. The child timeline on the pageserver (ancestor and LSN) and the safekeepers (WAL from the LSN).
 * Input: operationId, projectId, timelineId, parentTimelineId, lsn. Result: {timelineId}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#branches-and-restore).
 */
public final class CreateBranchTimelineHandler extends StepHandler {

    public static final String FUNCTION = "strata-create-branch-timeline";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public CreateBranchTimelineHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public CreateBranchTimelineHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        return Map.of("timelineId", cp.branchSteps().createBranchTimeline(in.operationId(), in.projectId(),
                in.timelineId(), in.parsedTimeline("parentTimelineId"), in.lsn("lsn")).toString());
    }
}
