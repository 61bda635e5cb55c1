package dev.strata.pageserver.ingest;

import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.ForkNumber;
import dev.strata.pgcore.wal.RelFileLocator;

import java.nio.ByteBuffer;

/**
 * Storage manager records ({@code catalog/storage_xlog.h}): create makes a fork exist with
 * size 0; truncate shrinks the forks its flags name, as {@code smgr_redo} does.
 */
final class SmgrIngest implements RmgrIngest {

    static final int XLOG_SMGR_CREATE = 0x10;
    static final int XLOG_SMGR_TRUNCATE = 0x20;

    static final int SMGR_TRUNCATE_HEAP = 0x0001;
    static final int SMGR_TRUNCATE_VM = 0x0002;
    static final int SMGR_TRUNCATE_FSM = 0x0004;

    private static final int MAIN = ForkNumber.MAIN.ordinal();
    private static final int FSM = ForkNumber.FSM.ordinal();

    @Override
    public void ingest(DecodedRecord r, IngestContext ctx) {
        int info = r.info() & 0xF0;
        ByteBuffer main = r.mainDataBuffer();
        switch (info) {
            case XLOG_SMGR_CREATE -> {
                need(r, main, 16);
                RelFileLocator rel = locator(main, 0);
                int fork = main.getInt(12);
                if (fork < 0 || fork > ForkNumber.INIT.ordinal()) {
                    throw new IngestException(r, "fork number " + fork);
                }
                // Creating an existing fork is a no-op in redo (smgrcreate with isRedo).
                if (ctx.relationSize(rel, fork) < 0) {
                    ctx.setRelationSize(rel, fork, 0);
                }
            }
            case XLOG_SMGR_TRUNCATE -> {
                need(r, main, 20);
                long blocks = main.getInt(0) & 0xFFFF_FFFFL;
                RelFileLocator rel = locator(main, 4);
                int flags = main.getInt(16);
                // smgr_redo creates the main fork first if it does not exist.
                long mainSize = ctx.relationSize(rel, MAIN);
                if (mainSize < 0) {
                    ctx.setRelationSize(rel, MAIN, 0);
                    mainSize = 0;
                }
                if ((flags & SMGR_TRUNCATE_HEAP) != 0 && mainSize > blocks) {
                    ctx.setRelationSize(rel, MAIN, blocks);
                }
                if ((flags & SMGR_TRUNCATE_VM) != 0) {
                    VisibilityMap.truncate(ctx, rel, blocks);
                }
                if ((flags & SMGR_TRUNCATE_FSM) != 0 && ctx.relationSize(rel, FSM) > 0) {
                    // The FSM is a hint PostgreSQL neither WAL-logs nor trusts; instead of
                    // rebuilding its tree tail we drop our copy: a missing FSM page reads as
                    // "no free space known", which PostgreSQL tolerates and repairs.
                    ctx.setRelationSize(rel, FSM, 0);
                }
            }
            default -> throw new IngestException(r, "unknown storage record type");
        }
    }

    private static void need(DecodedRecord r, ByteBuffer main, int bytes) {
        if (main.remaining() < bytes) {
            throw new IngestException(r, "main data of " + main.remaining() + " bytes, expected at least " + bytes);
        }
    }

    private static RelFileLocator locator(ByteBuffer main, int at) {
        return new RelFileLocator(main.getInt(at) & 0xFFFF_FFFFL, main.getInt(at + 4) & 0xFFFF_FFFFL,
                main.getInt(at + 8) & 0xFFFF_FFFFL);
    }
}
