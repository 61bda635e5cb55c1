package dev.strata.pageserver.redo;

import dev.strata.pageserver.ingest.PageChecksum;
import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.Redo;
import dev.strata.pageserver.layer.Value;
import dev.strata.pageserver.redo.heap.HeapRecords;
import dev.strata.pageserver.redo.page.Page;
import dev.strata.pgcore.wal.BlockReference;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.RmgrId;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The pageserver's redo: applies the records ingest stores as {@code Value.WalRecord} on top of
 * a key's older value, oldest first. Two payload kinds, told apart by their first byte:
 * <ul>
 * <li>{@link StrataRecord} (1): Strata's own operations (CLOG status bits, multixact offsets
 * and members) on SLRU pages;</li>
 * <li>{@link PgRecordPayload} (2): a PostgreSQL WAL record for one block of a relation, replayed
 * by the Java routine of its resource manager ({@link #routine}: heap, heap2, btree, hash,
 * GIN, GiST, sequence, BRIN, generic WAL), one block at a time. The page starts from the base image, or
 * from a zero page when the record will init it (ingest stores an image for a block it must start from zeros
 * otherwise: a visibility-map page read with RBM_ZERO_ON_ERROR). After each record pd_lsn is
 * the record's end LSN, as
 * {@code PageSetLSN(page, record->EndRecPtr)} leaves it, except on the heap page of
 * heap2 VISIBLE, which PostgreSQL stamps only when hint bits are WAL-logged (data checksums
 * here). With data checksums the page's pd_checksum is set once, after the last record.</li>
 * </ul>
 * A payload of another kind, a record without a base page it needs, or a routine that fails is
 * an error naming the key. Stateless and thread-safe.
 */
public final class PageserverRedo implements Redo {

    private static final RmgrRedo[] ROUTINES = new RmgrRedo[256];

    static {
        for (Map.Entry<Integer, RmgrRedo> e : RedoOracle.defaultRoutines().entrySet()) {
            ROUTINES[e.getKey()] = e.getValue();
        }
    }

    /** The Java redo of a resource manager, or null if it has none. */
    public static RmgrRedo routine(int rmid) {
        return rmid >= 0 && rmid < ROUTINES.length ? ROUTINES[rmid] : null;
    }

    /**
     * True if a block of this record can be stored as the record and replayed here: its resource
     * manager has a routine, and the routine handles the record type.
     */
    public static boolean canReplay(DecodedRecord record) {
        RmgrRedo r = routine(record.rmid());
        return r != null && r.handles(record);
    }

    @Override
    public byte[] apply(Key key, byte[] base, List<Value.Record> records) {
        if (base != null && base.length != StrataRecord.PAGE_SIZE) {
            throw new IllegalStateException("base of " + key.describe() + " is " + base.length + " bytes, not a page");
        }
        byte[] page = base == null ? null : base.clone();
        long checksumBlock = -1;
        for (Value.Record r : records) {
            if (!(r instanceof Value.WalRecord w)) {
                throw new IllegalStateException("unknown record kind " + r + " on " + key.describe());
            }
            byte[] payload = w.payload();
            if (PgRecordPayload.isPgRecord(payload)) {
                PgRecordPayload p;
                try {
                    p = PgRecordPayload.decode(payload);
                } catch (IllegalArgumentException e) {
                    throw new IllegalStateException("bad record on " + key.describe() + ": " + e.getMessage(), e);
                }
                page = replay(key, page, w.willInit(), p);
                checksumBlock = p.dataChecksums() ? p.record().block(p.blockId()).blockNumber() : -1;
                continue;
            }
            if (page == null) {
                throw noBase(key, records);
            }
            StrataRecord op;
            try {
                op = StrataRecord.decode(payload);
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("bad record on " + key.describe() + ": " + e.getMessage(), e);
            }
            op.applyTo(page);
        }
        if (checksumBlock >= 0) {
            PageChecksum.set(page, checksumBlock);
        }
        return page;
    }

    private static byte[] replay(Key key, byte[] page, boolean willInit, PgRecordPayload p) {
        DecodedRecord rec = p.record();
        BlockReference block = rec.block(p.blockId());
        RmgrRedo routine = routine(rec.rmid());
        if (routine == null) {
            throw new IllegalStateException("no Java redo for " + RmgrId.nameOf(rec.rmid()) + " record at "
                    + rec.startLsn() + " on " + key.describe());
        }
        if (willInit || block.willInit()) {
            if (page == null) {
                page = new byte[Page.SIZE];
            } else {
                Arrays.fill(page, (byte) 0);
            }
        } else if (page == null) {
            throw new IllegalStateException("no base page for the " + RmgrId.nameOf(rec.rmid()) + "/"
                    + rec.recordTypeName() + " record at " + rec.startLsn() + " on " + key.describe()
                    + ": the block was never written at or below it");
        }
        try {
            routine.redo(rec, block, page);
        } catch (RuntimeException e) {
            throw new IllegalStateException("redo of " + RmgrId.nameOf(rec.rmid()) + "/" + rec.recordTypeName()
                    + " at " + rec.startLsn() + " failed on " + key.describe() + ": " + e.getMessage(), e);
        }
        if (!(isVisibleHeapBlock(rec, block) && !p.dataChecksums()) && routine.changes(rec, block)) {
            Page.setLsn(page, p.endLsn().value());
        }
        return page;
    }

    /** heap2 VISIBLE's heap page: {@code heap_xlog_visible} stamps it only if {@code XLogHintBitIsNeeded()}. */
    private static boolean isVisibleHeapBlock(DecodedRecord rec, BlockReference block) {
        return rec.rmid() == RmgrId.HEAP2.id() && (rec.info() & 0x70) == HeapRecords.XLOG_HEAP2_VISIBLE
                && block.id() == 1;
    }

    private static IllegalStateException noBase(Key key, List<Value.Record> records) {
        return new IllegalStateException("no base page for " + records.size() + " record(s) on " + key.describe()
                + ": the page was never created (ZEROPAGE) at or below the first record");
    }
}
