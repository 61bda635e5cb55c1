package dev.strata.control.model;

/**
 * A branch's lifecycle. CREATING while the workflow makes its timeline on the pageserver and the
 * safekeepers; READY once both have it; DELETING while they drop it (the item goes last).
 *
 * <pre>
 * CREATING --> READY --> DELETING
 *     |                     ^
 *     +---------------------+  (creation failed: compensation)
 * </pre>
 */
public enum BranchState implements Lifecycle<BranchState> {
    CREATING,
    READY,
    DELETING;

    @Override
    public boolean canBecome(BranchState next) {
        return next == this || switch (this) {
            case CREATING -> next == READY || next == DELETING;
            case READY -> next == DELETING;
            case DELETING -> false;
        };
    }
}
