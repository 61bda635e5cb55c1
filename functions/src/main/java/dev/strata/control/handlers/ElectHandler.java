package dev.strata.control.handlers;

import dev.strata.control.runtime.ControlPlane;
import dev.strata.control.storage.Election;
import java.util.Map;

/**
 * {@code strata-elect}, wake: Elect. The safekeeper election for the endpoint's branch.
 * Input: operationId, endpointId, branchId, agentId. Result: {term, startLsn}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#handlers).
 */
public final class ElectHandler extends StepHandler {

    public static final String FUNCTION = "strata-elect";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public ElectHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public ElectHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        Election e = cp.computeSteps().elect(in.operationId(), in.endpointId(), in.branchId(), in.agentId());
        return Map.of("term", e.term(), "startLsn", e.startLsn().toString());
    }
}
