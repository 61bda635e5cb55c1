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
        CONFLICT
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
