package dev.strata.pageserver.datadir;

import dev.strata.pgcore.lsn.Lsn;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Instant;

/**
 * The value of the transaction-ends key ({@code Key.xactEnds()}), versioned by LSN like every
 * value: read at LSN L it describes the transaction-end records (COMMIT, ABORT, PREPARE, COMMIT
 * PREPARED, ABORT PREPARED) at or below L. It is what branches and "LSN for a timestamp" need
 * from history (docs/pageserver.md, "Branches"):
 * <ul>
 * <li>{@code lastEnd}/{@code lastStart}: the newest such record's end and start LSN, so a branch
 * or basebackup at that end knows the {@code xl_prev} its synthetic checkpoint needs;</li>
 * <li>{@code lastCommitEnd}: the newest commit's end; {@code maxCommitTime}: the highest commit
 * timestamp ({@code xact_time}, PostgreSQL microseconds since 2000-01-01) of all commits so
 * far, a running maximum, so that it never decreases with the LSN (commit timestamps are
 * taken before the WAL insert, so two concurrent commits can be out of order by a little);</li>
 * <li>{@code commits}: how many commits.</li>
 * </ul>
 * Layout (41 bytes, little-endian): u8 version 1, u64 last end, u64 last start, u64 last commit
 * end (0: none), i64 max commit time, u64 commits.
 */
public record XactEnds(Lsn lastEnd, Lsn lastStart, Lsn lastCommitEnd, long maxCommitTime, long commits) {

    public static final int BYTES = 41;
    private static final int VERSION = 1;
    /** PostgreSQL's epoch (2000-01-01 00:00 UTC) in Unix microseconds. */
    public static final long PG_EPOCH_UNIX_MICROS = 946_684_800_000_000L;

    public XactEnds {
        if (lastEnd == null || lastStart == null || lastCommitEnd == null) {
            throw new IllegalArgumentException("transaction-end LSNs must not be null");
        }
        if (!lastStart.isBefore(lastEnd)) {
            throw new IllegalArgumentException("record start " + lastStart + " must be below its end " + lastEnd);
        }
    }

    /** No transaction has ended yet: the first record makes the value. */
    public static XactEnds first(Lsn start, Lsn end, boolean commit, long time) {
        return new XactEnds(end, start, commit ? end : Lsn.INVALID, commit ? time : Long.MIN_VALUE, commit ? 1 : 0);
    }

    /** This value after one more transaction-end record [start, end); {@code time} counts only for a commit. */
    public XactEnds then(Lsn start, Lsn end, boolean commit, long time) {
        if (!commit) {
            return new XactEnds(end, start, lastCommitEnd, maxCommitTime, commits);
        }
        return new XactEnds(end, start, end, hasCommit() ? Math.max(maxCommitTime, time) : time, commits + 1);
    }

    public boolean hasCommit() {
        return lastCommitEnd.isValid();
    }

    public byte[] encode() {
        return ByteBuffer.allocate(BYTES).order(ByteOrder.LITTLE_ENDIAN).put((byte) VERSION)
                .putLong(lastEnd.value()).putLong(lastStart.value()).putLong(lastCommitEnd.value())
                .putLong(maxCommitTime).putLong(commits).array();
    }

    /** Decodes a value; null (the key has no value) is null. */
    public static XactEnds decode(byte[] value) {
        if (value == null) {
            return null;
        }
        if (value.length != BYTES || value[0] != VERSION) {
            throw new IllegalArgumentException("transaction-ends value of " + value.length + " bytes, version "
                    + (value.length == 0 ? "none" : Integer.toString(value[0])) + "; expected " + BYTES + " bytes, version "
                    + VERSION);
        }
        ByteBuffer b = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN);
        b.get();
        return new XactEnds(new Lsn(b.getLong()), new Lsn(b.getLong()), new Lsn(b.getLong()), b.getLong(), b.getLong());
    }

    /** A PostgreSQL {@code TimestampTz} (microseconds since 2000-01-01 UTC) for an instant. */
    public static long toPgTime(Instant t) {
        return Math.addExact(Math.subtractExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L),
                PG_EPOCH_UNIX_MICROS), t.getNano() / 1000);
    }

    public static Instant fromPgTime(long pg) {
        long unix = pg + PG_EPOCH_UNIX_MICROS;
        return Instant.ofEpochSecond(Math.floorDiv(unix, 1_000_000L), Math.floorMod(unix, 1_000_000L) * 1000);
    }
}
