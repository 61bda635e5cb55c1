package dev.strata.control.handlers;

import dev.strata.control.runtime.ControlPlane;
import dev.strata.control.service.ProjectSteps;
import java.util.Map;

/**
 * {@code strata-create-project-record}, create-project: CreateProjectRecord. Marks the operation running as this execution; the project and its main branch (creating) on a new timeline.
 * Input: operationId, projectId, name, pgVersion, executionArn, recoversExecution ("" unless recovering). Result: {branchId, timelineId}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#handlers).
 */
public final class CreateProjectRecordHandler extends StepHandler {

    public static final String FUNCTION = "strata-create-project-record";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public CreateProjectRecordHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public CreateProjectRecordHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        ProjectSteps.Created c = cp.projectSteps().createProjectRecord(in.operationId(), in.projectId(),
                in.string("name"), Math.toIntExact(in.number("pgVersion")), in.string("executionArn"),
                in.optionalString("recoversExecution"));
        return Map.of("branchId", c.branch().toString(), "timelineId", c.timeline().toString());
    }
}
