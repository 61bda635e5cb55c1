package dev.strata.control.model;

/**
 * An operation (one workflow execution) as operators see it.
 *
 * <pre>
 * SCHEDULED --> RUNNING --> SUCCEEDED
 *     |            |
 *     +------------+------> FAILED   (after compensation, with the error recorded)
 * </pre>
 * SUCCEEDED and FAILED are final.
 */
public enum OperationState implements Lifecycle<OperationState> {
    SCHEDULED,
    RUNNING,
    SUCCEEDED,
    FAILED;

    public boolean isFinal() {
        return this == SUCCEEDED || this == FAILED;
    }

    @Override
    public boolean canBecome(OperationState next) {
        return next == this || switch (this) {
            case SCHEDULED -> next == RUNNING || next == FAILED;
            case RUNNING -> next == SUCCEEDED || next == FAILED;
            case SUCCEEDED, FAILED -> false;
        };
    }
}
