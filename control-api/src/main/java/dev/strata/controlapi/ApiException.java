package dev.strata.controlapi;

import java.util.Objects;

/**
 * A request the API refuses, with the HTTP status and the error code its JSON body carries
 * ({@code {"error": code, "message": text}}). The message names the entity and the values.
 */
public final class ApiException extends RuntimeException {

    /** The refusals the API makes itself; the framework's own (400 malformed, 405, 413) are mapped in http. */
    public enum Kind {
        BAD_REQUEST(400, "bad_request"),
        NOT_FOUND(404, "not_found"),
        CONFLICT(409, "conflict"),
        UNAVAILABLE(503, "unavailable");

        private final int status;
        private final String code;

        Kind(int status, String code) {
            this.status = status;
            this.code = code;
        }

        public int status() {
            return status;
        }

        public String code() {
            return code;
        }
    }

    private final Kind kind;

    public ApiException(Kind kind, String message) {
        super(message);
        this.kind = Objects.requireNonNull(kind, "kind is null");
    }

    public ApiException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = Objects.requireNonNull(kind, "kind is null");
    }

    public Kind kind() {
        return kind;
    }

    static ApiException notFound(String message) {
        return new ApiException(Kind.NOT_FOUND, message);
    }

    static ApiException conflict(String message) {
        return new ApiException(Kind.CONFLICT, message);
    }
}
