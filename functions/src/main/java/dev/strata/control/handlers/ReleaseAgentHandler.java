package dev.strata.control.handlers;

import dev.strata.control.model.ComputeAgent;
import dev.strata.control.runtime.ControlPlane;
import java.util.Map;

/**
 * {@code strata-release-agent}, wake: ReleaseAgent (compensation: stops Postgres if it started); suspend: ReturnAgent. The agent back to the warm pool if this operation holds the endpoint with it.
 * Input: operationId, endpointId, agentId. Result: {agentId, agentState}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#handlers).
 */
public final class ReleaseAgentHandler extends StepHandler {

    public static final String FUNCTION = "strata-release-agent";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public ReleaseAgentHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public ReleaseAgentHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        ComputeAgent a = cp.computeSteps().releaseAgent(in.operationId(), in.endpointId(), in.agentId());
        return Map.of("agentId", a.id().toString(), "agentState", a.state().name());
    }
}
