package dev.strata.pgcore.wal;

import java.util.Locale;

/**
 * Names of record types per resource manager, as PostgreSQL 17's {@code *_identify}
 * functions give them (what pg_walinspect's {@code record_type} and pg_waldump print).
 * Indexed by the high nibble of {@code xl_info}; a few managers add a flag bit
 * ({@code +INIT}) or use a narrower op mask.
 */
public final class RecordTypeNames {

    private static final String[][] BY_RMGR = new String[RmgrId.values().length][];

    static {
        table(RmgrId.XLOG, "CHECKPOINT_SHUTDOWN", "CHECKPOINT_ONLINE", "NOOP", "NEXTOID", "SWITCH", "BACKUP_END",
                "PARAMETER_CHANGE", "RESTORE_POINT", "FPW_CHANGE", "END_OF_RECOVERY", "FPI_FOR_HINT", "FPI", null,
                "OVERWRITE_CONTRECORD", "CHECKPOINT_REDO", null);
        table(RmgrId.STORAGE, null, "CREATE", "TRUNCATE");
        table(RmgrId.CLOG, "ZEROPAGE", "TRUNCATE");
        table(RmgrId.DATABASE, "CREATE_FILE_COPY", "CREATE_WAL_LOG", "DROP");
        table(RmgrId.TABLESPACE, "CREATE", "DROP");
        table(RmgrId.MULTIXACT, "ZERO_OFF_PAGE", "ZERO_MEM_PAGE", "CREATE_ID", "TRUNCATE_ID");
        table(RmgrId.RELMAP, "UPDATE");
        table(RmgrId.STANDBY, "LOCK", "RUNNING_XACTS", "INVALIDATIONS");
        table(RmgrId.BTREE, "INSERT_LEAF", "INSERT_UPPER", "INSERT_META", "SPLIT_L", "SPLIT_R", "INSERT_POST",
                "DEDUP", "DELETE", "UNLINK_PAGE", "UNLINK_PAGE_META", "NEWROOT", "MARK_PAGE_HALFDEAD", "VACUUM",
                "REUSE_PAGE", "META_CLEANUP");
        table(RmgrId.HASH, "INIT_META_PAGE", "INIT_BITMAP_PAGE", "INSERT", "ADD_OVFL_PAGE", "SPLIT_ALLOCATE_PAGE",
                "SPLIT_PAGE", "SPLIT_COMPLETE", "MOVE_PAGE_CONTENTS", "SQUEEZE_PAGE", "DELETE", "SPLIT_CLEANUP",
                "UPDATE_META_PAGE", "VACUUM_ONE_PAGE");
        table(RmgrId.GIN, null, "CREATE_PTREE", "INSERT", "SPLIT", "VACUUM_PAGE", "DELETE_PAGE", "UPDATE_META_PAGE",
                "INSERT_LISTPAGE", "DELETE_LISTPAGE", "VACUUM_DATA_LEAF_PAGE");
        table(RmgrId.GIST, "PAGE_UPDATE", "DELETE", "PAGE_REUSE", "PAGE_SPLIT", null, null, "PAGE_DELETE",
                "ASSIGN_LSN");
        table(RmgrId.SEQUENCE, "LOG");
        table(RmgrId.SPGIST, null, "ADD_LEAF", "MOVE_LEAFS", "ADD_NODE", "SPLIT_TUPLE", "PICKSPLIT", "VACUUM_LEAF",
                "VACUUM_ROOT", "VACUUM_REDIRECT");
        table(RmgrId.LOGICAL_MESSAGE, "MESSAGE");
    }

    private static final String[] HEAP = {"INSERT", "DELETE", "UPDATE", "TRUNCATE", "HOT_UPDATE", "HEAP_CONFIRM",
        "LOCK", "INPLACE"};
    private static final String[] HEAP2 = {"REWRITE", "PRUNE_ON_ACCESS", "PRUNE_VACUUM_SCAN", "PRUNE_VACUUM_CLEANUP",
        "VISIBLE", "MULTI_INSERT", "LOCK_UPDATED", "NEW_CID"};
    private static final String[] XACT = {"COMMIT", "PREPARE", "ABORT", "COMMIT_PREPARED", "ABORT_PREPARED",
        "ASSIGNMENT", "INVALIDATION", null};
    private static final String[] BRIN = {"CREATE_INDEX", "INSERT", "UPDATE", "SAMEPAGE_UPDATE", "REVMAP_EXTEND",
        "DESUMMARIZE", null, null};
    private static final int INIT_PAGE = 0x80;
    private static final int OPMASK = 0x70;

    private RecordTypeNames() {
    }

    private static void table(RmgrId rmgr, String... namesByNibble) {
        BY_RMGR[rmgr.id()] = namesByNibble;
    }

    /** The record type name, or {@code UNKNOWN (xx)} as pg_walinspect prints unknown ones. */
    public static String of(int rmid, int info) {
        int op = info & 0xF0;
        String name = switch (RmgrId.ofId(rmid)) {
            case null -> null;
            case HEAP -> withInit(HEAP[(op & OPMASK) >> 4], op, "INSERT", "UPDATE", "HOT_UPDATE");
            case HEAP2 -> withInit(HEAP2[(op & OPMASK) >> 4], op, "MULTI_INSERT");
            case BRIN -> withInit(BRIN[(op & OPMASK) >> 4], op, "INSERT", "UPDATE");
            // xact keeps XLOG_XACT_HAS_INFO in the high bit; the name ignores it.
            case TRANSACTION -> XACT[(op & OPMASK) >> 4];
            // These compare the whole info byte, XLR flag bits included.
            case COMMIT_TS -> info == 0x00 ? "ZEROPAGE" : info == 0x10 ? "TRUNCATE" : null;
            case REPLICATION_ORIGIN -> info == 0x00 ? "SET" : info == 0x10 ? "DROP" : null;
            case GENERIC -> "Generic";
            default -> {
                String[] names = BY_RMGR[rmid];
                int idx = op >> 4;
                yield names != null && idx < names.length ? names[idx] : null;
            }
        };
        return name != null ? name : String.format(Locale.ROOT, "UNKNOWN (%x)", op);
    }

    private static String withInit(String base, int op, String... initCapable) {
        if ((op & INIT_PAGE) == 0) {
            return base;
        }
        for (String n : initCapable) {
            if (n.equals(base)) {
                return base + "+INIT";
            }
        }
        return null;
    }
}
