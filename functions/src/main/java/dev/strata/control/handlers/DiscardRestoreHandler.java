package dev.strata.control.handlers;

import dev.strata.control.runtime.ControlPlane;
import java.util.Map;

/**
 * {@code strata-discard-restore}, restore: DiscardRestore (compensation). Before the repoint: the backup branch's item and name removed; after it: the backup kept, ready.
 * Input: operationId, projectId, branchId. Result: {outcome (discarded | kept)}. Idempotent: a replay after it succeeded returns the same result
 * (docs/control-plane.md#branches-and-restore).
 */
public final class DiscardRestoreHandler extends StepHandler {

    public static final String FUNCTION = "strata-discard-restore";

    /** Lambda's constructor: the JVM's control plane from the environment (SnapStart-safe: no I/O). */
    public DiscardRestoreHandler() {
        this(ControlPlane.fromEnvironment());
    }

    public DiscardRestoreHandler(ControlPlane controlPlane) {
        super(FUNCTION, controlPlane);
    }

    @Override
    protected Map<String, Object> run(ControlPlane cp, StepInput in) {
        return Map.of("outcome", cp.branchSteps().discardRestore(in.operationId(), in.projectId(), in.branchId()));
    }
}
