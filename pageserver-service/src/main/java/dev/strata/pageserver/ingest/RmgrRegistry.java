package dev.strata.pageserver.ingest;

import dev.strata.pgcore.wal.RmgrId;

import java.util.Arrays;

/**
 * Which {@link RmgrIngest} handles each resource manager id. Every built-in manager has an
 * explicit entry (see the table in docs/pageserver.md); custom managers (ids 128-255) and
 * anything unregistered stop ingest. Replacing an entry is how Java redo for a manager
 * lands without touching the rest.
 */
public final class RmgrRegistry {

    /** Registered pages must come with images; the record changes nothing else we keep yet. */
    static final RmgrIngest IMAGES = (r, ctx) -> ctx.putImagesOrStop(r);

    private final RmgrIngest[] byId = new RmgrIngest[256];

    private RmgrRegistry() {
    }

    /** The managers this slice handles, per docs/pageserver.md ("Ingest"). */
    public static RmgrRegistry defaults() {
        RmgrRegistry reg = new RmgrRegistry();
        // Page-changing managers: images (full-page writes or consistency-check images).
        for (RmgrId id : new RmgrId[] {RmgrId.BTREE, RmgrId.HASH, RmgrId.GIN, RmgrId.GIST,
                RmgrId.SEQUENCE, RmgrId.SPGIST, RmgrId.BRIN, RmgrId.GENERIC}) {
            reg.register(id, IMAGES);
        }
        reg.register(RmgrId.XLOG, new XlogIngest());
        reg.register(RmgrId.HEAP, new HeapIngest());
        reg.register(RmgrId.HEAP2, new HeapIngest());
        reg.register(RmgrId.STORAGE, new SmgrIngest());
        reg.register(RmgrId.TRANSACTION, new XactIngest());
        reg.register(RmgrId.CLOG, new ClogIngest());
        reg.register(RmgrId.MULTIXACT, new MultiXactIngest());
        reg.register(RmgrId.RELMAP, new RelMapIngest());
        reg.register(RmgrId.DATABASE, new DatabaseIngest());
        // No block references and nothing we keep: standby (running xacts, locks), commit
        // timestamps (off by default; LSN-by-time is a later step), replication origins,
        // logical messages.
        for (RmgrId id : new RmgrId[] {RmgrId.STANDBY, RmgrId.COMMIT_TS, RmgrId.REPLICATION_ORIGIN,
                RmgrId.LOGICAL_MESSAGE}) {
            reg.register(id, IMAGES);
        }
        reg.register(RmgrId.TABLESPACE, new TablespaceIngest());
        return reg;
    }

    /** Replaces the handler of one manager (tests, and Java redo as it lands). */
    public RmgrRegistry register(RmgrId id, RmgrIngest ingest) {
        byId[id.id()] = ingest;
        return this;
    }

    /** The handler for a record's {@code xl_rmid}, or null if none is registered. */
    RmgrIngest forId(int rmid) {
        return rmid >= 0 && rmid < byId.length ? byId[rmid] : null;
    }

    @Override
    public String toString() {
        return "RmgrRegistry" + Arrays.toString(Arrays.stream(RmgrId.values())
                .filter(id -> byId[id.id()] != null).map(RmgrId::pgName).toArray());
    }
}
