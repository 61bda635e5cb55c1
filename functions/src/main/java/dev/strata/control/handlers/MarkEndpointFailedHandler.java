package dev.strata.control.handlers;

import dev.strata.control.model.Endpoint;
import dev.strata.control.runtime.ControlPlane;
import java.util.Map;

/**
 * {@code strata-mark-endpoint-failed}, suspend: MarkEndpointFailed (compensation). The agent quarantined (retired), the endpoint suspended: the next wake starts afresh.
 * Input: operationId, endpointId, agentId. Result: {endpointId, state}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#handlers).
 */
public final class MarkEndpointFailedHandler extends StepHandler {

    public static final String FUNCTION = "strata-mark-endpoint-failed";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public MarkEndpointFailedHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public MarkEndpointFailedHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        Endpoint e = cp.computeSteps().markEndpointFailed(in.operationId(), in.endpointId(), in.agentId());
        return Map.of("endpointId", e.id().toString(), "state", e.state().name());
    }
}
