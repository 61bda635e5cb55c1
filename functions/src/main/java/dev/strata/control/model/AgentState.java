package dev.strata.control.model;

/**
 * A compute agent in the warm pool (architecture §6: wake never waits for a task to boot).
 *
 * <pre>
 * IDLE <--> CLAIMED     (claimed by a wake, released by a suspend)
 *   |          |
 *   +----------+--> RETIRED   (the task is gone; final)
 * </pre>
 */
public enum AgentState implements Lifecycle<AgentState> {
    IDLE,
    CLAIMED,
    RETIRED;

    @Override
    public boolean canBecome(AgentState next) {
        return next == this || switch (this) {
            case IDLE -> next == CLAIMED || next == RETIRED;
            case CLAIMED -> next == IDLE || next == RETIRED;
            case RETIRED -> false;
        };
    }
}
