package dev.strata.control.handlers;

import dev.strata.control.model.Endpoint;
import dev.strata.control.runtime.ControlPlane;
import java.util.Map;

/**
 * {@code strata-create-endpoint}, create-project: CreateEndpoint. The main branch's default endpoint, suspended.
 * Input: operationId, projectId, branchId. Result: {endpointId, state}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#handlers).
 */
public final class CreateEndpointHandler extends StepHandler {

    public static final String FUNCTION = "strata-create-endpoint";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public CreateEndpointHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public CreateEndpointHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        Endpoint e = cp.projectSteps().createEndpoint(in.operationId(), in.projectId(), in.branchId());
        return Map.of("endpointId", e.id().toString(), "state", e.state().name());
    }
}
