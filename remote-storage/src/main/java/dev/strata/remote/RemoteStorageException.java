package dev.strata.remote;

/**
 * A remote storage call that failed, with what kind of failure it was: a caller retries
 * {@link Kind#TRANSIENT} ones (with backoff) and gives up on the others at once.
 */
public final class RemoteStorageException extends RuntimeException {

    public enum Kind {
        /** The object does not exist. */
        NOT_FOUND,
        /** Worth another try: a network error, a timeout, 5xx, 429 or 503 SlowDown. */
        TRANSIENT,
        /** Retrying cannot help: bad credentials, a missing bucket, a refused request, a local I/O error. */
        PERMANENT
    }

    private final Kind kind;

    public RemoteStorageException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public RemoteStorageException(Kind kind, String message) {
        this(kind, message, null);
    }

    public Kind kind() {
        return kind;
    }

    public boolean isTransient() {
        return kind == Kind.TRANSIENT;
    }
}
