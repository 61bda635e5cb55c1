package dev.strata.pgcore.wal;

/**
 * PostgreSQL 17's built-in resource managers ({@code rmgrlist.h}), with the names
 * {@code pg_walinspect} and {@code pg_waldump} print. The ordinal is the {@code xl_rmid}.
 * Ids 128-255 are custom resource managers (extensions); they are valid in WAL but have
 * no constant here.
 */
public enum RmgrId {
    XLOG("XLOG"),
    TRANSACTION("Transaction"),
    STORAGE("Storage"),
    CLOG("CLOG"),
    DATABASE("Database"),
    TABLESPACE("Tablespace"),
    MULTIXACT("MultiXact"),
    RELMAP("RelMap"),
    STANDBY("Standby"),
    HEAP2("Heap2"),
    HEAP("Heap"),
    BTREE("Btree"),
    HASH("Hash"),
    GIN("Gin"),
    GIST("Gist"),
    SEQUENCE("Sequence"),
    SPGIST("SPGist"),
    BRIN("BRIN"),
    COMMIT_TS("CommitTs"),
    REPLICATION_ORIGIN("ReplicationOrigin"),
    GENERIC("Generic"),
    LOGICAL_MESSAGE("LogicalMessage");

    /** First id reserved for custom resource managers ({@code RM_MIN_CUSTOM_ID}). */
    public static final int MIN_CUSTOM_ID = 128;
    /** Largest id ({@code RM_MAX_CUSTOM_ID}). */
    public static final int MAX_CUSTOM_ID = 255;

    private static final RmgrId[] BY_ID = values();

    private final String pgName;

    RmgrId(String pgName) {
        this.pgName = pgName;
    }

    /** The name as PostgreSQL prints it, e.g. {@code Heap2}. */
    public String pgName() {
        return pgName;
    }

    public int id() {
        return ordinal();
    }

    /** True for a built-in or custom id, as {@code RmgrIdIsValid} accepts. */
    public static boolean isValid(int id) {
        return (id >= 0 && id < BY_ID.length) || (id >= MIN_CUSTOM_ID && id <= MAX_CUSTOM_ID);
    }

    /** The built-in resource manager with this id, or null for a custom or invalid id. */
    public static RmgrId ofId(int id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
    }

    /** The name PostgreSQL prints for any valid id ({@code custom128} for custom ids). */
    public static String nameOf(int id) {
        RmgrId rmgr = ofId(id);
        return rmgr != null ? rmgr.pgName : String.format(java.util.Locale.ROOT, "custom%03d", id);
    }
}
