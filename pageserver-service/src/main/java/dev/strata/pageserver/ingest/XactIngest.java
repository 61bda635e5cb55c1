package dev.strata.pageserver.ingest;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.SlruKind;
import dev.strata.pageserver.redo.StrataRecord;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.RelFileLocator;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * Transaction records ({@code access/xact.h}, PG17). Commit and abort (also of prepared
 * transactions) set the CLOG status of the xid and every subtransaction (committed 1,
 * aborted 2; redo never leaves sub-committed 3 behind: {@code TransactionIdSetTreeStatus}),
 * drop the relations listed, and advance nextXid past every xid named; PREPARE writes the
 * two-phase state file PostgreSQL would write ({@code RecreateTwoPhaseFile}: the record's
 * data followed by its CRC-32C), which commit/abort prepared remove. ASSIGNMENT only
 * advances nextXid; INVALIDATIONS change nothing we keep.
 *
 * <p>The commit/abort body is parsed exactly as {@code ParseCommitRecord}/{@code
 * ParseAbortRecord} read it; an xinfo flag we do not know, a truncated body or trailing bytes
 * stop ingest.
 */
final class XactIngest implements RmgrIngest {

    static final int COMMIT = 0x00;
    static final int PREPARE = 0x10;
    static final int ABORT = 0x20;
    static final int COMMIT_PREPARED = 0x30;
    static final int ABORT_PREPARED = 0x40;
    static final int ASSIGNMENT = 0x50;
    static final int INVALIDATIONS = 0x60;
    static final int OPMASK = 0x70;
    static final int HAS_INFO = 0x80;

    static final int XINFO_HAS_DBINFO = 1;
    static final int XINFO_HAS_SUBXACTS = 1 << 1;
    static final int XINFO_HAS_RELFILELOCATORS = 1 << 2;
    static final int XINFO_HAS_INVALS = 1 << 3;
    static final int XINFO_HAS_TWOPHASE = 1 << 4;
    static final int XINFO_HAS_ORIGIN = 1 << 5;
    static final int XINFO_HAS_AE_LOCKS = 1 << 6;
    static final int XINFO_HAS_GID = 1 << 7;
    static final int XINFO_HAS_DROPPED_STATS = 1 << 8;
    /** XACT_COMPLETION_APPLY_FEEDBACK, _UPDATE_RELCACHE_FILE, _FORCE_SYNC_COMMIT: commit only. */
    static final int XACT_COMPLETION_FLAGS = (1 << 29) | (1 << 30) | (1 << 31);

    private static final int COMMON_FLAGS = XINFO_HAS_DBINFO | XINFO_HAS_SUBXACTS | XINFO_HAS_RELFILELOCATORS
            | XINFO_HAS_TWOPHASE | XINFO_HAS_ORIGIN | XINFO_HAS_AE_LOCKS | XINFO_HAS_GID | XINFO_HAS_DROPPED_STATS;
    static final int COMMIT_KNOWN_FLAGS = COMMON_FLAGS | XINFO_HAS_INVALS | XACT_COMPLETION_FLAGS;
    /** ParseAbortRecord reads no invalidation messages: an abort carrying the flag is not a PG17 record. */
    static final int ABORT_KNOWN_FLAGS = COMMON_FLAGS;

    static final int TWOPHASE_MAGIC = 0x57F94534;
    /** sizeof(TwoPhaseFileHeader) on 64-bit PG17. */
    static final int TWOPHASE_HEADER_SIZE = 72;

    private static final int RELFILELOCATOR_SIZE = 12;
    private static final int STATS_ITEM_SIZE = 12;
    private static final int INVAL_MSG_SIZE = 16;
    private static final int ORIGIN_SIZE = 16;

    /** A parsed commit or abort body. */
    record Parsed(int xinfo, int dbId, int tsId, int[] subxacts, List<RelFileLocator> rels, int nstats,
                  int nmsgs, int twophaseXid, String gid) {
    }

    @Override
    public void ingest(DecodedRecord r, IngestContext ctx) {
        ctx.putImagesOrStop(r); // xact records register no blocks; keep the rule anyway
        int op = r.info() & OPMASK;
        switch (op) {
            case COMMIT, ABORT, COMMIT_PREPARED, ABORT_PREPARED -> {
                boolean commit = op == COMMIT || op == COMMIT_PREPARED;
                Parsed p = parse(r, commit);
                boolean prepared = op == COMMIT_PREPARED || op == ABORT_PREPARED;
                if (prepared != ((p.xinfo & XINFO_HAS_TWOPHASE) != 0)) {
                    throw new IngestException(r, prepared ? "a prepared transaction's record without its two-phase xid"
                            : "a two-phase xid in a record that is not COMMIT/ABORT PREPARED");
                }
                int xid = prepared ? p.twophaseXid : (int) r.xid();
                if (xid == 0) {
                    throw new IngestException(r, "commit/abort of InvalidTransactionId");
                }
                setClogStatus(r, ctx, xid, p.subxacts,
                        commit ? StrataRecord.CLOG_STATUS_COMMITTED : StrataRecord.CLOG_STATUS_ABORTED);
                ctx.advanceNextXid(xid);
                for (int sub : p.subxacts) {
                    ctx.advanceNextXid(sub);
                }
                for (RelFileLocator rel : p.rels) {
                    ctx.dropRelation(rel);
                }
                if (prepared) {
                    ctx.removeTwoPhaseFile(xid);
                }
                ctx.transactionEnded(commit, r.mainDataBuffer().getLong(0));
            }
            case PREPARE -> {
                prepare(r, ctx);
                ctx.transactionEnded(false, 0);
            }
            case ASSIGNMENT -> {
                ByteBuffer m = r.mainDataBuffer();
                try {
                    int top = m.getInt();
                    int n = m.getInt();
                    if (n < 0 || (long) n * 4 != m.remaining()) {
                        throw new IngestException(r, "assignment of " + n + " subxacts with " + m.remaining() + " bytes left");
                    }
                    ctx.advanceNextXid(top);
                    for (int i = 0; i < n; i++) {
                        ctx.advanceNextXid(m.getInt());
                    }
                } catch (BufferUnderflowException e) {
                    throw new IngestException(r, "assignment record truncated at " + r.mainDataLength() + " bytes");
                }
            }
            case INVALIDATIONS -> {
            }
            default -> throw new IngestException(r, "unknown transaction record type 0x" + Integer.toHexString(op));
        }
    }

    /** Parses xl_xact_commit / xl_xact_abort and the pieces its xinfo announces (xactdesc.c's order). */
    static Parsed parse(DecodedRecord r, boolean commit) {
        ByteBuffer m = r.mainDataBuffer();
        try {
            m.getLong(); // xact_time
            int xinfo = 0;
            if ((r.info() & HAS_INFO) != 0) {
                xinfo = m.getInt();
            }
            int known = commit ? COMMIT_KNOWN_FLAGS : ABORT_KNOWN_FLAGS;
            if ((xinfo & ~known) != 0) {
                throw new IngestException(r, "unknown xinfo flags 0x" + Integer.toHexString(xinfo & ~known)
                        + " in xinfo 0x" + Integer.toHexString(xinfo));
            }
            int dbId = 0;
            int tsId = 0;
            if ((xinfo & XINFO_HAS_DBINFO) != 0) {
                dbId = m.getInt();
                tsId = m.getInt();
            }
            int[] subxacts = new int[0];
            if ((xinfo & XINFO_HAS_SUBXACTS) != 0) {
                subxacts = new int[count(r, m, 4, "subxacts")];
                for (int i = 0; i < subxacts.length; i++) {
                    subxacts[i] = m.getInt();
                }
            }
            List<RelFileLocator> rels = new ArrayList<>();
            if ((xinfo & XINFO_HAS_RELFILELOCATORS) != 0) {
                int n = count(r, m, RELFILELOCATOR_SIZE, "relfilelocators");
                for (int i = 0; i < n; i++) {
                    rels.add(new RelFileLocator(Integer.toUnsignedLong(m.getInt()), Integer.toUnsignedLong(m.getInt()),
                            Integer.toUnsignedLong(m.getInt())));
                }
            }
            int nstats = 0;
            if ((xinfo & XINFO_HAS_DROPPED_STATS) != 0) {
                nstats = count(r, m, STATS_ITEM_SIZE, "dropped stats");
                m.position(m.position() + nstats * STATS_ITEM_SIZE);
            }
            int nmsgs = 0;
            if ((xinfo & XINFO_HAS_INVALS) != 0) {
                nmsgs = count(r, m, INVAL_MSG_SIZE, "invalidation messages");
                m.position(m.position() + nmsgs * INVAL_MSG_SIZE);
            }
            int twophaseXid = 0;
            String gid = null;
            if ((xinfo & XINFO_HAS_TWOPHASE) != 0) {
                twophaseXid = m.getInt();
                if ((xinfo & XINFO_HAS_GID) != 0) {
                    int start = m.position();
                    while (m.get() != 0) {
                        // up to the terminating NUL
                    }
                    byte[] g = new byte[m.position() - start - 1];
                    m.get(start, g);
                    gid = new String(g, java.nio.charset.StandardCharsets.UTF_8);
                }
            }
            if ((xinfo & XINFO_HAS_ORIGIN) != 0) {
                m.position(m.position() + ORIGIN_SIZE); // throws if absent
            }
            if (m.hasRemaining()) {
                throw new IngestException(r, m.remaining() + " trailing bytes after the xinfo 0x"
                        + Integer.toHexString(xinfo) + " pieces of " + r.mainDataLength() + " bytes");
            }
            return new Parsed(xinfo, dbId, tsId, subxacts, rels, nstats, nmsgs, twophaseXid, gid);
        } catch (BufferUnderflowException | IllegalArgumentException e) {
            throw new IngestException(r, "main data of " + r.mainDataLength() + " bytes is truncated");
        }
    }

    private static int count(DecodedRecord r, ByteBuffer m, int entryBytes, String what) {
        int n = m.getInt();
        if (n < 0 || (long) n * entryBytes > m.remaining()) {
            throw new IngestException(r, n + " " + what + " need " + (long) n * entryBytes + " bytes, "
                    + m.remaining() + " left of " + r.mainDataLength());
        }
        return n;
    }

    /** One CLOG operation per page touched, the xid and its subtransactions together. */
    static void setClogStatus(DecodedRecord r, IngestContext ctx, int xid, int[] subxacts, int status) {
        Map<Long, List<Integer>> byPage = new TreeMap<>();
        byPage.computeIfAbsent(StrataRecord.clogPage(xid), k -> new ArrayList<>()).add(xid);
        for (int s : subxacts) {
            byPage.computeIfAbsent(StrataRecord.clogPage(s), k -> new ArrayList<>()).add(s);
        }
        for (Map.Entry<Long, List<Integer>> e : byPage.entrySet()) {
            long pageNo = e.getKey();
            if (!ctx.slruPageExists(SlruKind.CLOG, pageNo)) {
                if (ctx.base() == TimelineBase.WAL_ONLY) {
                    ctx.skippedSlruChange(); // a page zeroed before the start: we do not have it
                    continue;
                }
                throw new IngestException(r, "CLOG page " + pageNo + " for xid " + Integer.toUnsignedString(e.getValue().get(0))
                        + " does not exist (never zeroed, or truncated)");
            }
            int[] xids = e.getValue().stream().mapToInt(Integer::intValue).toArray();
            Key key = Key.slruPage(SlruKind.CLOG, (int) (pageNo / StrataRecord.SLRU_PAGES_PER_SEGMENT),
                    (int) (pageNo % StrataRecord.SLRU_PAGES_PER_SEGMENT));
            ctx.put(key, StrataRecord.toValue(new StrataRecord.ClogSetStatus(status, xids)));
        }
    }

    /** PREPARE: the record's data is the state file without its CRC (xl_xact_prepare header first). */
    private static void prepare(DecodedRecord r, IngestContext ctx) {
        byte[] data = r.mainData();
        if (data.length < TWOPHASE_HEADER_SIZE) {
            throw new IngestException(r, "two-phase state of " + data.length + " bytes is shorter than its "
                    + TWOPHASE_HEADER_SIZE + "-byte header");
        }
        ByteBuffer h = ByteBuffer.wrap(data).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int magic = h.getInt(0);
        if (magic != TWOPHASE_MAGIC) {
            throw new IngestException(r, "two-phase state magic 0x" + Integer.toHexString(magic) + ", expected 0x"
                    + Integer.toHexString(TWOPHASE_MAGIC));
        }
        long totalLen = Integer.toUnsignedLong(h.getInt(4));
        if (totalLen != data.length + 4L) {
            throw new IngestException(r, "two-phase state says " + totalLen + " bytes with its CRC, record has "
                    + data.length + " + 4");
        }
        int xid = h.getInt(8);
        if (xid == 0 || (r.xid() != 0 && (int) r.xid() != xid)) {
            throw new IngestException(r, "two-phase state of xid " + Integer.toUnsignedString(xid)
                    + " in a record of xid " + r.xid());
        }
        CRC32C crc = new CRC32C();
        crc.update(data);
        byte[] file = java.util.Arrays.copyOf(data, data.length + 4);
        ByteBuffer.wrap(file).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(data.length, (int) crc.getValue());
        ctx.putTwoPhaseFile(xid, file);
        ctx.advanceNextXid(xid);
    }
}
