package dev.strata.control;

/**
 * A workflow step cannot succeed by trying again: its target is in a state it does not act on, is
 * gone, or belongs to another operation. Not retried; the workflow's Catch runs the compensation and
 * records the message as the operation's error.
 */
public class StepFailedException extends RuntimeException {

    public StepFailedException(String message) {
        super(message);
    }

    public StepFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
