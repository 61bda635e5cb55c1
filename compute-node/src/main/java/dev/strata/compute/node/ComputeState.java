package dev.strata.compute.node;

/**
 * Where a compute is in its life. {@code STOPPED → STARTING → RUNNING → STOPPING → STOPPED};
 * a start that fails, or a Postgres that exits on its own, goes to {@code FAILED}, from which
 * the next start begins again (a new term).
 */
public enum ComputeState {
    STOPPED,
    STARTING,
    RUNNING,
    STOPPING,
    FAILED;

    /** Whether {@code start()} may be called in this state. */
    public boolean canStart() {
        return switch (this) {
            case STOPPED, FAILED -> true;
            case STARTING, RUNNING, STOPPING -> false;
        };
    }
}
