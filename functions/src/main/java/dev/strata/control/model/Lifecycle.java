package dev.strata.control.model;

/**
 * A state enum that says where each state may go. The metadata store refuses a write whose
 * state change is not allowed here, before it reaches DynamoDB.
 */
public interface Lifecycle<S extends Enum<S> & Lifecycle<S>> {

    /** Whether an item in this state may move to {@code next}. Staying in the same state is always allowed. */
    boolean canBecome(S next);
}
