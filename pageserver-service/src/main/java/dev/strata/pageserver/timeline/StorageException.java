package dev.strata.pageserver.timeline;

/**
 * A timeline's storage cannot do what was asked. The category says why, so a caller (the
 * page service, the HTTP API) can map it to an error code without parsing the message.
 */
public final class StorageException extends RuntimeException {

    /** Why storage failed. */
    public enum Category {
        /** A file is damaged, foreign or inconsistent with the others. */
        CORRUPT,
        /** Something that must exist (a directory, the metadata, a listed layer) does not. */
        MISSING,
        /** The request conflicts with the state (timeline exists already, no base for a record). */
        CONFLICT,
        /**
         * A file could not be written (the disk is full, a write failed). Nothing was listed and
         * the data is still in memory: the same write is tried again later and may succeed.
         */
        WRITE_FAILED,
        /**
         * Forcing a file failed (decision 0010). Fatal for the timeline's storage until a restart:
         * the kernel may have dropped the pages, so nothing is forced again or reported durable.
         */
        FSYNC_FAILED
    }

    private final Category category;

    public StorageException(Category category, String message) {
        super(message);
        this.category = category;
    }

    public StorageException(Category category, String message, Throwable cause) {
        super(message, cause);
        this.category = category;
    }

    public Category category() {
        return category;
    }
}
