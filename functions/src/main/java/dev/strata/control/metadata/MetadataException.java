package dev.strata.control.metadata;

/**
 * What the metadata store refuses or cannot do. Each subclass is a category a caller (a
 * workflow step, the API) handles differently: a conflict is retried after a fresh read, a
 * missing item ends the step, corrupt metadata needs an operator, unavailability is retried
 * with backoff. Messages name the item and the values involved.
 */
public abstract sealed class MetadataException extends RuntimeException
        permits MetadataException.NotFound, MetadataException.AlreadyExists, MetadataException.VersionConflict,
        MetadataException.IllegalTransition, MetadataException.CorruptItem, MetadataException.Unavailable {

    MetadataException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The item does not exist (or no longer does). */
    public static final class NotFound extends MetadataException {
        NotFound(String message) {
            super(message, null);
        }
    }

    /** A create found the item (or the unique name) taken. */
    public static final class AlreadyExists extends MetadataException {
        AlreadyExists(String message) {
            super(message, null);
        }
    }

    /**
     * Another writer changed the item since the caller read it: its version (or state) is not the
     * one the write expected. Read again and decide again; never retry the same write blindly.
     */
    public static final class VersionConflict extends MetadataException {
        private final long expected;
        private final long found;

        VersionConflict(String message, long expected, long found) {
            super(message, null);
            this.expected = expected;
            this.found = found;
        }

        public long expectedVersion() {
            return expected;
        }

        public long foundVersion() {
            return found;
        }
    }

    /** The state change is not allowed by the state's lifecycle; nothing was written. */
    public static final class IllegalTransition extends MetadataException {
        IllegalTransition(String message) {
            super(message, null);
        }
    }

    /**
     * An item in the table does not decode: a missing attribute, an unknown state, an invalid id.
     * Written by a newer version or by hand; the store never guesses.
     */
    public static final class CorruptItem extends MetadataException {
        CorruptItem(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** DynamoDB did not answer, or answered with an error that is not about the item (after the SDK's retries). */
    public static final class Unavailable extends MetadataException {
        Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
