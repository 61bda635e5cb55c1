package dev.strata.control.handlers;

import dev.strata.control.runtime.ControlPlane;
import java.util.Map;

/**
 * {@code strata-delete-branch-timeline}, delete-branch: DeleteBranchTimeline; create-branch and restore: DeleteTimeline (compensation). The timeline deleted everywhere, unless a restore already points its branch at it.
 * Input: operationId, projectId, timelineId. Result: {deleted, timelineId}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#branches-and-restore).
 */
public final class DeleteBranchTimelineHandler extends StepHandler {

    public static final String FUNCTION = "strata-delete-branch-timeline";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public DeleteBranchTimelineHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public DeleteBranchTimelineHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        boolean deleted = cp.branchSteps().deleteTimeline(in.operationId(), in.projectId(), in.timelineId());
        return Map.of("deleted", deleted, "timelineId", in.timelineId().toString());
    }
}
