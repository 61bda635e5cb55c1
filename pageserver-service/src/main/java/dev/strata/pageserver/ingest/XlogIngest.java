package dev.strata.pageserver.ingest;

import dev.strata.pgcore.control.CheckPoint;
import dev.strata.pgcore.wal.DecodedRecord;

import java.nio.ByteBuffer;

/**
 * XLOG records ({@code catalog/pg_control.h}): full-page images (FPI, FPI_FOR_HINT) become
 * pages; checkpoint records and NEXTOID move the timeline's {@link CheckPoint} values, as
 * {@code xlog_redo} moves the server's counters:
 * <ul>
 * <li>SHUTDOWN checkpoint: nextXid, nextOid, nextMulti/offset are the record's where they are
 * ahead of ours (ours may be ahead from later xids seen in WAL: too high is harmless);</li>
 * <li>ONLINE checkpoint: the same "only forward" rule (an online checkpoint's nextOid can be
 * behind a later NEXTOID, and its nextXid behind xids already used);</li>
 * <li>both: oldestXid/db, oldestMulti/db, oldest/newest commit-ts xid, redo, time and
 * timeline ids are the record's;</li>
 * <li>NEXTOID: nextOid is the record's.</li>
 * </ul>
 * Everything else (SWITCH, NOOP, PARAMETER_CHANGE, BACKUP_END, RESTORE_POINT, FPW_CHANGE,
 * END_OF_RECOVERY, OVERWRITE_CONTRECORD, CHECKPOINT_REDO) changes nothing we keep.
 */
final class XlogIngest implements RmgrIngest {

    static final int CHECKPOINT_SHUTDOWN = 0x00;
    static final int CHECKPOINT_ONLINE = 0x10;
    static final int NEXTOID = 0x30;

    @Override
    public void ingest(DecodedRecord r, IngestContext ctx) {
        ctx.putImagesOrStop(r);
        int info = r.info() & 0xF0;
        ByteBuffer m = r.mainDataBuffer();
        switch (info) {
            case CHECKPOINT_SHUTDOWN, CHECKPOINT_ONLINE -> {
                if (m.remaining() != CheckPoint.SIZE) {
                    throw new IngestException(r, "checkpoint of " + m.remaining() + " bytes, expected " + CheckPoint.SIZE);
                }
                CheckPoint rec = CheckPoint.decode(m);
                ctx.updateCheckpoint(cp -> merge(cp, rec));
                if (info == CHECKPOINT_SHUTDOWN && r.prevLsn().isValid()) {
                    ctx.shutdownCheckpoint(); // a compute's start (or a clean stop): a basebackup can be made here
                }
            }
            case NEXTOID -> {
                if (m.remaining() != 4) {
                    throw new IngestException(r, "NEXTOID main data of " + m.remaining() + " bytes, expected 4");
                }
                int oid = m.getInt(0);
                ctx.updateCheckpoint(cp -> cp.withNextOid(oid));
            }
            default -> {
            }
        }
    }

    /** Ours moved forward by the record's values (modulo 2^32 for 32-bit counters). */
    static CheckPoint merge(CheckPoint ours, CheckPoint rec) {
        long nextFullXid = Long.compareUnsigned(rec.nextFullXid(), ours.nextFullXid()) > 0 ? rec.nextFullXid()
                : ours.nextFullXid();
        int nextOid = rec.nextOid() - ours.nextOid() > 0 ? rec.nextOid() : ours.nextOid();
        int nextMulti = rec.nextMulti() - ours.nextMulti() > 0 ? rec.nextMulti() : ours.nextMulti();
        int nextOffset = rec.nextMultiOffset() - ours.nextMultiOffset() > 0 ? rec.nextMultiOffset()
                : ours.nextMultiOffset();
        return new CheckPoint(rec.redo(), rec.thisTimeLineId(), rec.prevTimeLineId(), rec.fullPageWrites(),
                rec.walLevel(), nextFullXid, nextOid, nextMulti, nextOffset, rec.oldestXid(), rec.oldestXidDb(),
                rec.oldestMulti(), rec.oldestMultiDb(), rec.time(), rec.oldestCommitTsXid(), rec.newestCommitTsXid(),
                rec.oldestActiveXid());
    }
}
