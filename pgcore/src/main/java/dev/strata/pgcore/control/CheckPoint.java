package dev.strata.pgcore.control;

import dev.strata.pgcore.lsn.Lsn;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * PostgreSQL 17's {@code CheckPoint} struct ({@code catalog/pg_control.h}): the body of a
 * checkpoint WAL record and the {@code checkPointCopy} inside {@code pg_control}.
 *
 * <p>The pageserver keeps one of these per timeline, versioned by LSN (initial value from
 * the imported initdb, then moved forward by WAL: checkpoint records, NEXTOID, every
 * record's xid, multixact creation), and the basebackup writes it into the synthetic
 * shutdown checkpoint and {@code pg_control}. The encoding is the server's own: 88 bytes,
 * little-endian (x86-64), with the C struct's padding as zeros.
 *
 * <pre>
 *  0 u64 redo               8 u32 ThisTimeLineID    12 u32 PrevTimeLineID
 * 16 u8  fullPageWrites    17 pad(3)                20 i32 wal_level
 * 24 u64 nextXid (FullTransactionId: epoch &lt;&lt; 32 | xid)
 * 32 u32 nextOid           36 u32 nextMulti         40 u32 nextMultiOffset
 * 44 u32 oldestXid         48 u32 oldestXidDB       52 u32 oldestMulti
 * 56 u32 oldestMultiDB     60 pad(4)                64 i64 time (pg_time_t, Unix seconds)
 * 72 u32 oldestCommitTsXid 76 u32 newestCommitTsXid 80 u32 oldestActiveXid  84 pad(4)
 * </pre>
 *
 * XIDs, OIDs and multixact ids are unsigned 32-bit values held in {@code int}s; compare
 * them with PostgreSQL's modulo-2^32 rules, not with {@code <}.
 */
public record CheckPoint(
        Lsn redo,
        int thisTimeLineId,
        int prevTimeLineId,
        boolean fullPageWrites,
        int walLevel,
        long nextFullXid,
        int nextOid,
        int nextMulti,
        int nextMultiOffset,
        int oldestXid,
        int oldestXidDb,
        int oldestMulti,
        int oldestMultiDb,
        long time,
        int oldestCommitTsXid,
        int newestCommitTsXid,
        int oldestActiveXid) {

    /** {@code sizeof(CheckPoint)} on 64-bit PostgreSQL 17. */
    public static final int SIZE = 88;

    public CheckPoint {
        if (redo == null) {
            throw new IllegalArgumentException("redo is null");
        }
    }

    /** Decodes the 88-byte struct at the buffer's position (any byte order; read as little-endian). */
    public static CheckPoint decode(ByteBuffer in) {
        if (in.remaining() < SIZE) {
            throw new IllegalArgumentException("CheckPoint needs " + SIZE + " bytes, have " + in.remaining());
        }
        ByteBuffer b = in.slice(in.position(), SIZE).order(ByteOrder.LITTLE_ENDIAN);
        in.position(in.position() + SIZE);
        return new CheckPoint(
                Lsn.of(b.getLong(0)), b.getInt(8), b.getInt(12), b.get(16) != 0, b.getInt(20),
                b.getLong(24), b.getInt(32), b.getInt(36), b.getInt(40), b.getInt(44), b.getInt(48),
                b.getInt(52), b.getInt(56), b.getLong(64), b.getInt(72), b.getInt(76), b.getInt(80));
    }

    public static CheckPoint decode(byte[] bytes) {
        if (bytes.length != SIZE) {
            throw new IllegalArgumentException("CheckPoint is " + SIZE + " bytes, got " + bytes.length);
        }
        return decode(ByteBuffer.wrap(bytes));
    }

    /** Writes the 88-byte struct at the buffer's position. */
    public void encodeTo(ByteBuffer out) {
        ByteBuffer b = out.slice(out.position(), SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, redo.value()).putInt(8, thisTimeLineId).putInt(12, prevTimeLineId)
                .put(16, (byte) (fullPageWrites ? 1 : 0)).put(17, (byte) 0).put(18, (byte) 0).put(19, (byte) 0)
                .putInt(20, walLevel).putLong(24, nextFullXid).putInt(32, nextOid).putInt(36, nextMulti)
                .putInt(40, nextMultiOffset).putInt(44, oldestXid).putInt(48, oldestXidDb)
                .putInt(52, oldestMulti).putInt(56, oldestMultiDb).putInt(60, 0).putLong(64, time)
                .putInt(72, oldestCommitTsXid).putInt(76, newestCommitTsXid).putInt(80, oldestActiveXid)
                .putInt(84, 0);
        out.position(out.position() + SIZE);
    }

    public byte[] encode() {
        byte[] bytes = new byte[SIZE];
        encodeTo(ByteBuffer.wrap(bytes));
        return bytes;
    }

    /** The 32-bit xid part of {@link #nextFullXid}. */
    public int nextXid() {
        return (int) nextFullXid;
    }

    /** The epoch part of {@link #nextFullXid}. */
    public int nextXidEpoch() {
        return (int) (nextFullXid >>> 32);
    }

    public CheckPoint withRedo(Lsn newRedo) {
        return new CheckPoint(newRedo, thisTimeLineId, prevTimeLineId, fullPageWrites, walLevel, nextFullXid,
                nextOid, nextMulti, nextMultiOffset, oldestXid, oldestXidDb, oldestMulti, oldestMultiDb, time,
                oldestCommitTsXid, newestCommitTsXid, oldestActiveXid);
    }

    public CheckPoint withNextFullXid(long v) {
        return new CheckPoint(redo, thisTimeLineId, prevTimeLineId, fullPageWrites, walLevel, v,
                nextOid, nextMulti, nextMultiOffset, oldestXid, oldestXidDb, oldestMulti, oldestMultiDb, time,
                oldestCommitTsXid, newestCommitTsXid, oldestActiveXid);
    }

    public CheckPoint withNextOid(int v) {
        return new CheckPoint(redo, thisTimeLineId, prevTimeLineId, fullPageWrites, walLevel, nextFullXid,
                v, nextMulti, nextMultiOffset, oldestXid, oldestXidDb, oldestMulti, oldestMultiDb, time,
                oldestCommitTsXid, newestCommitTsXid, oldestActiveXid);
    }

    public CheckPoint withNextMulti(int multi, int offset) {
        return new CheckPoint(redo, thisTimeLineId, prevTimeLineId, fullPageWrites, walLevel, nextFullXid,
                nextOid, multi, offset, oldestXid, oldestXidDb, oldestMulti, oldestMultiDb, time,
                oldestCommitTsXid, newestCommitTsXid, oldestActiveXid);
    }

    public CheckPoint withOldestXid(int xid, int db) {
        return new CheckPoint(redo, thisTimeLineId, prevTimeLineId, fullPageWrites, walLevel, nextFullXid,
                nextOid, nextMulti, nextMultiOffset, xid, db, oldestMulti, oldestMultiDb, time,
                oldestCommitTsXid, newestCommitTsXid, oldestActiveXid);
    }

    public CheckPoint withOldestMulti(int multi, int db) {
        return new CheckPoint(redo, thisTimeLineId, prevTimeLineId, fullPageWrites, walLevel, nextFullXid,
                nextOid, nextMulti, nextMultiOffset, oldestXid, oldestXidDb, multi, db, time,
                oldestCommitTsXid, newestCommitTsXid, oldestActiveXid);
    }

    public CheckPoint withTime(long unixSeconds) {
        return new CheckPoint(redo, thisTimeLineId, prevTimeLineId, fullPageWrites, walLevel, nextFullXid,
                nextOid, nextMulti, nextMultiOffset, oldestXid, oldestXidDb, oldestMulti, oldestMultiDb, unixSeconds,
                oldestCommitTsXid, newestCommitTsXid, oldestActiveXid);
    }

    public CheckPoint withOldestActiveXid(int xid) {
        return new CheckPoint(redo, thisTimeLineId, prevTimeLineId, fullPageWrites, walLevel, nextFullXid,
                nextOid, nextMulti, nextMultiOffset, oldestXid, oldestXidDb, oldestMulti, oldestMultiDb, time,
                oldestCommitTsXid, newestCommitTsXid, xid);
    }
}
