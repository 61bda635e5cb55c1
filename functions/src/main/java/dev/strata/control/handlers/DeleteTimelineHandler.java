package dev.strata.control.handlers;

import dev.strata.control.runtime.ControlPlane;
import dev.strata.pgcore.id.TimelineId;
import java.util.Map;

/**
 * {@code strata-delete-timeline}, create-project: DeleteTimeline (compensation). The timeline this operation created, deleted everywhere.
 * Input: operationId, projectId, timelineId. Result: {deleted, timelineId}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#handlers).
 */
public final class DeleteTimelineHandler extends StepHandler {

    public static final String FUNCTION = "strata-delete-timeline";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public DeleteTimelineHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public DeleteTimelineHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        TimelineId t = in.timelineId();
        cp.projectSteps().deleteTimeline(in.operationId(), in.projectId(), t);
        return Map.of("deleted", true, "timelineId", t.toString());
    }
}
