package dev.strata.control.handlers;

import dev.strata.control.model.Endpoint;
import dev.strata.control.runtime.ControlPlane;
import java.util.Map;

/**
 * {@code strata-mark-endpoint-suspending}, suspend: MarkSuspending. The endpoint running -> suspending, held by this operation; refused if a wake or another suspend changed it.
 * Input: operationId, endpointId, agentId. Result: {endpointId, state}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#handlers).
 */
public final class MarkEndpointSuspendingHandler extends StepHandler {

    public static final String FUNCTION = "strata-mark-endpoint-suspending";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public MarkEndpointSuspendingHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public MarkEndpointSuspendingHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        Endpoint e = cp.computeSteps().markSuspending(in.operationId(), in.endpointId(), in.agentId());
        return Map.of("endpointId", e.id().toString(), "state", e.state().name());
    }
}
