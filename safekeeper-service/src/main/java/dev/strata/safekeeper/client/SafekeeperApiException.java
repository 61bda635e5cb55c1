package dev.strata.safekeeper.client;

/** A safekeeper answered an API call with an error status, or could not be reached. */
public final class SafekeeperApiException extends RuntimeException {

    private final int status;

    public SafekeeperApiException(int status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    /** The HTTP status, or 0 if the safekeeper could not be reached. */
    public int status() {
        return status;
    }
}
