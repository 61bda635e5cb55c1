package dev.strata.control.handlers;

import dev.strata.control.model.Endpoint;
import dev.strata.control.runtime.ControlPlane;
import java.util.Map;

/**
 * {@code strata-mark-endpoint-suspended}, wake: MarkEndpointSuspended (compensation); suspend: MarkSuspended (the operation succeeded). The endpoint this operation holds -> suspended.
 * Input: operationId, endpointId. Result: {endpointId, state}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#handlers).
 */
public final class MarkEndpointSuspendedHandler extends StepHandler {

    public static final String FUNCTION = "strata-mark-endpoint-suspended";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public MarkEndpointSuspendedHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public MarkEndpointSuspendedHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        Endpoint e = cp.computeSteps().markSuspended(in.operationId(), in.endpointId());
        return Map.of("endpointId", e.id().toString(), "state", e.state().name());
    }
}
