package dev.strata.control.handlers;

import dev.strata.control.runtime.ControlPlane;
import dev.strata.pgcore.id.TimelineId;
import java.util.Map;

/**
 * {@code strata-create-timeline}, create-project: CreateTimeline. The main branch's timeline on the pageserver and safekeepers.
 * Input: operationId, projectId, branchId, timelineId, pgVersion. Result: {timelineId}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#handlers).
 */
public final class CreateTimelineHandler extends StepHandler {

    public static final String FUNCTION = "strata-create-timeline";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public CreateTimelineHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public CreateTimelineHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        TimelineId t = cp.projectSteps().createTimeline(in.operationId(), in.projectId(), in.branchId(),
                in.timelineId(), Math.toIntExact(in.number("pgVersion")));
        return Map.of("timelineId", t.toString());
    }
}
