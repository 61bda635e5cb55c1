package dev.strata.pageserver.key;

/** The SLRUs a timeline keeps as pageserver keys, with their code in {@link Key} field2. */
public enum SlruKind {
    /** pg_xact: commit status bits. */
    CLOG(0, "pg_xact"),
    /** pg_multixact/offsets. */
    MULTIXACT_OFFSETS(1, "pg_multixact/offsets"),
    /** pg_multixact/members. */
    MULTIXACT_MEMBERS(2, "pg_multixact/members");

    private final int code;
    private final String directory;

    SlruKind(int code, String directory) {
        this.code = code;
        this.directory = directory;
    }

    public int code() {
        return code;
    }

    /** The directory under PGDATA that holds this SLRU's segment files. */
    public String directory() {
        return directory;
    }

    /** The kind with this code, or null if none. */
    public static SlruKind ofCode(int code) {
        for (SlruKind k : values()) {
            if (k.code == code) {
                return k;
            }
        }
        return null;
    }
}
