package dev.strata.pageserver.ingest;

/**
 * What a timeline holds below its first WAL record, which decides how ingest treats a
 * relation it has never seen.
 */
public enum TimelineBase {
    /**
     * Every relation that existed at the start was imported (initdb output, or an ancestor):
     * a change to a fork we do not have means our state is wrong, so ingest stops.
     */
    IMPORTED,
    /**
     * Nothing was imported (until initdb import exists, and in tests that only look at
     * relations created after the start): relations older than the start are known to be
     * incomplete, so a side effect on one of their unseen forks (a visibility-map clear) is
     * skipped and counted instead of stopping the timeline. Relations created after the
     * start are complete and still checked strictly.
     */
    WAL_ONLY;

    /** The lowercase name the management API and the S3 index use: "imported", "wal_only". */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The base a {@link #label()} (any case) names. */
    public static TimelineBase fromLabel(String label) {
        return valueOf(label.toUpperCase(java.util.Locale.ROOT));
    }
}
