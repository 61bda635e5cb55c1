package dev.strata.control.model;

/**
 * Where an endpoint's compute is.
 *
 * <pre>
 *            wake                 started
 * SUSPENDED ------> WAKING ----------------> RUNNING
 *     ^               |  wake failed            |
 *     |&lt;--------------+  (compensation)         | idle / suspend
 *     |                                         v
 *     +--------------------------------- SUSPENDING
 *                    stopped
 * </pre>
 * A running compute that dies is suspended through SUSPENDING as well (the suspend workflow
 * returns its agent to the pool), so RUNNING never jumps to SUSPENDED and an agent is never
 * leaked by a shortcut.
 */
public enum EndpointState implements Lifecycle<EndpointState> {
    SUSPENDED,
    WAKING,
    RUNNING,
    SUSPENDING;

    @Override
    public boolean canBecome(EndpointState next) {
        return next == this || switch (this) {
            case SUSPENDED -> next == WAKING;
            case WAKING -> next == RUNNING || next == SUSPENDED;
            case RUNNING -> next == SUSPENDING;
            case SUSPENDING -> next == SUSPENDED;
        };
    }
}
