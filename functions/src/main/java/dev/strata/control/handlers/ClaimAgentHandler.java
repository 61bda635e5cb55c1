package dev.strata.control.handlers;

import dev.strata.control.runtime.ControlPlane;
import java.util.Map;

/**
 * {@code strata-claim-agent}, wake: ClaimAgent. Marks the operation running as this execution, claims an idle agent from the warm pool (or launches one) and moves the endpoint suspended -> waking, held by the operation.
 * Input: operationId, endpointId, projectId, branchId, executionArn, recoversExecution ("" unless recovering). Result: {agentId}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#handlers).
 */
public final class ClaimAgentHandler extends StepHandler {

    public static final String FUNCTION = "strata-claim-agent";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public ClaimAgentHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public ClaimAgentHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        return Map.of("agentId", cp.computeSteps().claimAgent(in.operationId(), in.endpointId(), in.projectId(),
                in.branchId(), in.string("executionArn"), in.optionalString("recoversExecution")).toString());
    }
}
