package dev.strata.control.model;

/**
 * A storage node's lifecycle. New timelines go only to ACTIVE nodes.
 *
 * <pre>
 * ACTIVE <--> DRAINING --> DECOMMISSIONED (final)
 * </pre>
 */
public enum StorageNodeState implements Lifecycle<StorageNodeState> {
    ACTIVE,
    DRAINING,
    DECOMMISSIONED;

    @Override
    public boolean canBecome(StorageNodeState next) {
        return next == this || switch (this) {
            case ACTIVE -> next == DRAINING;
            case DRAINING -> next == ACTIVE || next == DECOMMISSIONED;
            case DECOMMISSIONED -> false;
        };
    }
}
