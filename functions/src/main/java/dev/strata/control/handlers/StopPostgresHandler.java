package dev.strata.control.handlers;

import dev.strata.control.runtime.ControlPlane;
import java.util.Map;

/**
 * {@code strata-stop-postgres}, suspend: StopPostgres. The agent stops the endpoint's Postgres.
 * Input: operationId, endpointId, agentId. Result: {stopped}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#handlers).
 */
public final class StopPostgresHandler extends StepHandler {

    public static final String FUNCTION = "strata-stop-postgres";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public StopPostgresHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public StopPostgresHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        cp.computeSteps().stopPostgres(in.operationId(), in.endpointId(), in.agentId());
        return Map.of("stopped", true);
    }
}
