package dev.strata.compute.node;

/** A compute could not be started; the message names the step and the values involved. */
public class ComputeStartException extends RuntimeException {

    public ComputeStartException(String message) {
        super(message);
    }

    public ComputeStartException(String message, Throwable cause) {
        super(message, cause);
    }
}
