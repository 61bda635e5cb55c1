package dev.strata.control.handlers;

import dev.strata.control.runtime.ControlPlane;
import java.util.Map;

/**
 * {@code strata-check-activity}, suspend: CheckActivity. Marks the operation running as this execution; the sessions the endpoint's Postgres has open, as it sees them.
 * Input: operationId, endpointId, agentId, executionArn, recoversExecution ("" unless recovering). Result: {idle, sessions}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#handlers).
 */
public final class CheckActivityHandler extends StepHandler {

    public static final String FUNCTION = "strata-check-activity";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public CheckActivityHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public CheckActivityHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        int sessions = cp.computeSteps().checkActivity(in.operationId(), in.endpointId(), in.agentId(),
                in.string("executionArn"), in.optionalString("recoversExecution"));
        return Map.of("idle", sessions == 0, "sessions", sessions);
    }
}
