package dev.strata.proxy.wake;

import java.util.EnumSet;
import java.util.Set;

/**
 * What the proxy knows about an endpoint's compute.
 *
 * <pre>
 *            wake                 woke
 * SUSPENDED ------> WAKING ---------------> RUNNING
 *     ^   ^           |  wake timed out       |  |
 *     |   +-----------+                       |  | idle timeout
 *     |   connect to cached address failed    |  v
 *     +---------------------------------------+ SUSPENDING
 *     ^                                           |
 *     +-------------------------------------------+ suspended (or failed: address forgotten)
 * </pre>
 *
 * An endpoint the proxy has not seen yet starts SUSPENDED; since {@link ComputeControl#wake}
 * is idempotent, a compute that was in fact running is simply found.
 */
public enum EndpointState {
    SUSPENDED,
    WAKING,
    RUNNING,
    SUSPENDING;

    public Set<EndpointState> next() {
        return switch (this) {
            case SUSPENDED -> EnumSet.of(WAKING);
            case WAKING -> EnumSet.of(RUNNING, SUSPENDED);
            case RUNNING -> EnumSet.of(SUSPENDING, SUSPENDED);
            case SUSPENDING -> EnumSet.of(SUSPENDED);
        };
    }

    public boolean canMoveTo(EndpointState target) {
        return next().contains(target);
    }

    /** The target state, or IllegalStateException naming both if the move is not allowed. */
    public EndpointState moveTo(EndpointState target) {
        if (!canMoveTo(target)) {
            throw new IllegalStateException("endpoint state " + this + " cannot move to " + target);
        }
        return target;
    }
}
