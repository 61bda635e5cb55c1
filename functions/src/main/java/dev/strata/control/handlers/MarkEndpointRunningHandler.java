package dev.strata.control.handlers;

import dev.strata.control.model.Endpoint;
import dev.strata.control.runtime.ControlPlane;
import java.util.Map;

/**
 * {@code strata-mark-endpoint-running}, wake: MarkRunning. The endpoint waking -> running at the compute's address; the operation succeeded.
 * Input: operationId, endpointId, agentId, address. Result: {endpointId, state, address}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#handlers).
 */
public final class MarkEndpointRunningHandler extends StepHandler {

    public static final String FUNCTION = "strata-mark-endpoint-running";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public MarkEndpointRunningHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public MarkEndpointRunningHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        Endpoint e = cp.computeSteps().markRunning(in.operationId(), in.endpointId(), in.agentId(),
                in.string("address"));
        return Map.of("endpointId", e.id().toString(), "state", e.state().name(), "address", e.address().orElseThrow());
    }
}
