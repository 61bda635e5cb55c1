package dev.strata.safekeeper.election;

/** An election could not complete: no majority reachable or willing, or recovery did not finish in time. */
public final class ElectionFailedException extends RuntimeException {
    public ElectionFailedException(String message) {
        super(message);
    }
}
