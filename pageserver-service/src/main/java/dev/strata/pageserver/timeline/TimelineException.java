package dev.strata.pageserver.timeline;

/**
 * A request about a timeline cannot be answered. The {@link Kind} is what callers map: the page
 * service to an error code in its error frame, the HTTP API to a status. Messages name the
 * timeline and the values involved.
 */
public final class TimelineException extends RuntimeException {

    /** Why; each kind has a stable page-service code and an HTTP status. */
    public enum Kind {
        /** The request itself is wrong (a bad id, LSN or option). */
        BAD_REQUEST(1, 400),
        /** The timeline, relation or block does not exist (at that LSN). */
        NOT_FOUND(2, 404),
        /** The request conflicts with the state (the timeline exists already). */
        CONFLICT(3, 409),
        /** The LSN is below the timeline's retained history (its start). */
        LSN_OUT_OF_RANGE(4, 400),
        /** WAL up to the LSN was not ingested within the wait bound. */
        WAIT_TIMEOUT(5, 504),
        /** The timeline cannot serve: still creating, stopped, or broken (the reason is in the message). */
        UNAVAILABLE(6, 503),
        /** Not implemented yet on this build. */
        UNSUPPORTED(7, 501),
        /** The server is at its limit of concurrent requests; retry later. */
        OVERLOADED(8, 503),
        /** Anything unexpected (a bug, a damaged file). */
        INTERNAL(9, 500),
        /**
         * No valid token: none, malformed, forged, expired (the page service then closes the
         * connection). Not a timeline's doing, but callers map every failure through this enum.
         */
        UNAUTHENTICATED(10, 401),
        /** A valid token that does not allow this: another scope, or a compute token of another timeline. */
        FORBIDDEN(11, 403);

        private final int code;
        private final int httpStatus;

        Kind(int code, int httpStatus) {
            this.code = code;
            this.httpStatus = httpStatus;
        }

        /** The code in a page-service error frame. */
        public int code() {
            return code;
        }

        public int httpStatus() {
            return httpStatus;
        }

        /** The kind of a page-service code; INTERNAL for codes this build does not know. */
        public static Kind ofCode(int code) {
            for (Kind k : values()) {
                if (k.code == code) {
                    return k;
                }
            }
            return INTERNAL;
        }
    }

    private final Kind kind;

    public TimelineException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public TimelineException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
