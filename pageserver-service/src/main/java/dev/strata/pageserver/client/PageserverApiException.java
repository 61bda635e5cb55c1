package dev.strata.pageserver.client;

/** The pageserver answered a management API call with an error status, or could not be reached. */
public final class PageserverApiException extends RuntimeException {

    private final int status;
    private final String kind;

    public PageserverApiException(int status, String kind, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
        this.kind = kind;
    }

    /** The HTTP status, or 0 if the pageserver could not be reached (or did not answer in time). */
    public int status() {
        return status;
    }

    /** The error kind of the pageserver's JSON error ({@code not_found}, {@code bad_request}, ...), or "" */
    public String kind() {
        return kind;
    }

    /**
     * Whether the call may succeed if repeated: no answer, 503 (the pageserver is busy or starting)
     * or 504 (it has not ingested the WAL waited for yet).
     */
    public boolean isUnavailable() {
        return status == 0 || status == 503 || status == 504;
    }
}
