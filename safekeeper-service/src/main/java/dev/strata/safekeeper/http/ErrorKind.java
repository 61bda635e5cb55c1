package dev.strata.safekeeper.http;

import java.util.Locale;

/**
 * The category of a safekeeper API error: the {@code error} field of every JSON error body
 * (lower case, e.g. {@code "term_refused"}) and its HTTP status. Stable across releases, unlike
 * the Java class names the API used to send; a client branches on it, never on the message.
 */
public enum ErrorKind {
    /** The request itself is wrong: malformed JSON, a bad id or LSN, a term beyond the allowed step. */
    BAD_REQUEST(400),
    /**
     * No valid token: none, not a JWT, forged, expired, {@code alg: none} (docs/safekeeper.md,
     * "Authentication"). Sent with {@code WWW-Authenticate: Bearer}.
     */
    UNAUTHENTICATED(401),
    /** A valid token that may not do this: another scope, a compute token of another timeline. */
    FORBIDDEN(403),
    /** The timeline (or path) does not exist here. */
    NOT_FOUND(404),
    /** A message of a term this safekeeper no longer serves, or has not adopted: the sender must stop. */
    TERM_REFUSED(409),
    /** The request conflicts with the state: the timeline exists already. */
    CONFLICT(409),
    /** A peer safekeeper this call needed could not be reached or answered with an error. */
    PEER_UNAVAILABLE(502),
    /** At a limit of concurrent requests of this kind (docs/safekeeper.md, "Limits"): retry shortly. */
    BUSY(503),
    /** The disk is full: nothing was stored; the same request succeeds once space is freed. */
    DISK_FULL(507),
    /** The timeline's storage stopped after a failed fsync (decision 0010): restart the safekeeper. */
    STORAGE_FAILED(500),
    /** Stored state cannot be trusted (a damaged control file). */
    CORRUPT(500),
    /** Anything unexpected (a bug); logged where it is mapped. */
    INTERNAL(500);

    private final int httpStatus;

    ErrorKind(int httpStatus) {
        this.httpStatus = httpStatus;
    }

    public int httpStatus() {
        return httpStatus;
    }

    /** The name in the JSON body: the constant in lower case. */
    public String code() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The kind of an error Micronaut produced itself, from its status (400, 404, 413, 415, ...). */
    public static ErrorKind ofStatus(int status) {
        return switch (status) {
            case 401 -> UNAUTHENTICATED;
            case 403 -> FORBIDDEN;
            case 404 -> NOT_FOUND;
            case 409 -> CONFLICT;
            case 507 -> DISK_FULL;
            case 503 -> BUSY;
            default -> status >= 400 && status < 500 ? BAD_REQUEST : INTERNAL;
        };
    }
}
