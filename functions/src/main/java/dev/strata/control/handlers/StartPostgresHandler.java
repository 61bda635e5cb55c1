package dev.strata.control.handlers;

import dev.strata.control.runtime.ControlPlane;
import java.util.Map;

/**
 * {@code strata-start-postgres}, wake: StartPostgres. The agent fetches the basebackup at the elected LSN and starts Postgres.
 * Input: operationId, endpointId, branchId, agentId, term, startLsn. Result: {address}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#handlers).
 */
public final class StartPostgresHandler extends StepHandler {

    public static final String FUNCTION = "strata-start-postgres";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public StartPostgresHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public StartPostgresHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        return Map.of("address", cp.computeSteps().startPostgres(in.operationId(), in.endpointId(), in.branchId(),
                in.agentId(), in.number("term"), in.lsn("startLsn")));
    }
}
