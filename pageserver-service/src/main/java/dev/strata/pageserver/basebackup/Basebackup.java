package dev.strata.pageserver.basebackup;

import dev.strata.pageserver.datadir.BlockCount;
import dev.strata.pageserver.datadir.DbDirectory;
import dev.strata.pageserver.datadir.NumberSet;
import dev.strata.pageserver.datadir.RelDirectory;
import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.SlruKind;
import dev.strata.pageserver.layer.Redo;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pageserver.timeline.StorageException;
import dev.strata.pgcore.control.CheckPoint;
import dev.strata.pgcore.control.ControlFile;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.wal.WalRecordWriter;
import dev.strata.pgcore.wal.WalSegmentWriter;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams a tar of a complete PostgreSQL 17 data directory at an LSN E (architecture §5), from
 * which stock PostgreSQL starts as a primary without recovery and writes its next WAL after
 * a synthetic shutdown checkpoint at E.
 *
 * <p>Enters: a timeline's {@link LayerStore} (imported from initdb, then WAL-ingested), E and
 * the start of the record ending at E. Leaves: ustar bytes on an {@link OutputStream}, written
 * as they are produced (memory: one page plus a few WAL pages). The compute adds
 * {@code postgresql.conf} and {@code pg_hba.conf}. See docs/pageserver.md "Basebackup" for
 * the layout; {@code pg_wal} and {@code global/pg_control} come last, so a truncated archive
 * has no control file and cannot start. Given an {@link Incremental} (from
 * {@link IncrementalPlanner}), the archive is incremental over a directory the compute holds
 * ({@link IncrementalFormat}; docs/basebackup.md, "Incremental basebackups").
 */
public final class Basebackup {

    private static final Logger LOG = LoggerFactory.getLogger(Basebackup.class);

    static final int BLOCK_SIZE = 8192;
    static final int RELSEG_BLOCKS = 131072;
    private static final int GLOBAL_TABLESPACE = 1664;
    private static final int DEFAULT_TABLESPACE = 1663;
    private static final byte[] ZERO_PAGE = new byte[BLOCK_SIZE];
    private static final byte[] PG_VERSION = "17\n".getBytes(StandardCharsets.US_ASCII);

    /** Directories PostgreSQL 17 expects to exist, created empty (in this order). */
    static final List<String> EMPTY_DIRECTORIES = List.of("pg_commit_ts", "pg_dynshmem", "pg_logical",
            "pg_logical/mappings", "pg_logical/snapshots", "pg_notify", "pg_replslot", "pg_serial", "pg_snapshots",
            "pg_stat", "pg_stat_tmp", "pg_subtrans");

    /**
     * What was written, for logs, metrics and the benchmark.
     *
     * @param relationBlocks     blocks of every relation fork in the directory: what a full basebackup sends
     * @param relationBlocksSent blocks the archive carries: all of them in a full basebackup, in an
     *                           incremental one those of the files it sends whole and the pages of its reuse entries
     * @param incrementalBase    the base an incremental archive applies to; null for a full one
     */
    public record Result(Lsn checkpointLsn, Lsn walEnd, long tarBytes, long relationBlocks, long relationBlocksSent,
                         BasebackupBase incrementalBase) {
    }

    /** Relation blocks a full basebackup has and blocks this archive sends. */
    private static final class Counts {
        long full;
        long sent;
        long reusedFiles;
    }

    private Basebackup() {
    }

    /**
     * Writes the tar; {@code out} is flushed, not closed.
     *
     * @param lsn            the LSN E the compute starts at (a record end, at or above the import
     *                       LSN and at or below the last record LSN)
     * @param prevRecordLsn  the start LSN of the record that ends at E (the synthetic checkpoint's xl_prev)
     * @return where the checkpoint record landed: E mid-page, E + 24 on a page boundary, E + 40
     *         on a segment boundary ({@code pg_control.checkPoint} = redo = that); the compute's
     *         WAL continues at {@link Result#walEnd()}
     */
    public static Result write(LayerStore store, Redo redo, Lsn lsn, Lsn prevRecordLsn, OutputStream out)
            throws IOException {
        return write(store, redo, lsn, prevRecordLsn, null, out);
    }

    /**
     * As {@link #write(LayerStore, Redo, Lsn, Lsn, OutputStream)}; with {@code incremental} not
     * null the archive is incremental over its base ({@link IncrementalFormat}): the marker entry
     * first, and a reuse entry instead of each segment file of a logged fork the base holds.
     */
    public static Result write(LayerStore store, Redo redo, Lsn lsn, Lsn prevRecordLsn, Incremental incremental,
                               OutputStream out) throws IOException {
        dev.strata.pgcore.id.TimelineId tl = store.timelineId();
        if (lsn.value() % 8 != 0) {
            throw new IllegalArgumentException("timeline " + tl + ": basebackup LSN " + lsn
                    + " is not 8-byte aligned, so it is not a record end");
        }
        if (!prevRecordLsn.isValid() || !prevRecordLsn.isBefore(lsn)) {
            throw new IllegalArgumentException("timeline " + tl + ": previous record LSN " + prevRecordLsn
                    + " must be valid and below the basebackup LSN " + lsn);
        }
        if (lsn.isAfter(store.lastRecordLsn())) {
            throw new StorageException(StorageException.Category.CONFLICT, "timeline " + tl + ": basebackup LSN "
                    + lsn + " is beyond last record LSN " + store.lastRecordLsn());
        }
        byte[] controlBytes = store.getValue(Key.controlFile(), lsn, redo);
        byte[] checkpointBytes = store.getValue(Key.checkpoint(), lsn, redo);
        if (controlBytes == null || checkpointBytes == null) {
            throw new StorageException(StorageException.Category.MISSING, "timeline " + tl + ": no control file"
                    + " at " + lsn + "; a basebackup needs an LSN at or above the timeline's initdb import");
        }
        ControlFile control = ControlFile.decode(controlBytes);
        CheckPoint tracked = CheckPoint.decode(checkpointBytes);
        int pageSize = control.walBlockSize();
        int segmentSize = control.walSegmentSize();
        Lsn recordLsn = WalSegmentWriter.recordStart(lsn, pageSize, segmentSize);
        long now = System.currentTimeMillis() / 1000;
        // A shutdown checkpoint: redo is its own location, no transaction is running.
        CheckPoint checkpoint = tracked.withRedo(recordLsn).withTime(now).withOldestActiveXid(0);
        WalSegmentWriter.Placed wal = WalSegmentWriter.place(control.systemIdentifier(), checkpoint.thisTimeLineId(),
                pageSize, segmentSize, recordLsn, WalRecordWriter.shutdownCheckpoint(checkpoint, prevRecordLsn));
        ControlFile shutDown = control.shutDownAt(recordLsn, checkpoint, now);

        BufferedOutputStream buffered = new BufferedOutputStream(out, 256 * 1024);
        TarWriter tar = new TarWriter(buffered, now);
        Counts counts = new Counts();
        if (incremental != null) {
            tar.file(IncrementalFormat.MARKER, incremental.base().encodeMarker());
        }
        tar.file("PG_VERSION", PG_VERSION);
        tar.file("postgresql.auto.conf", new byte[0]);
        // No user name maps, but the file exists as initdb leaves it: pg_ident_file_mappings reads it.
        tar.file("pg_ident.conf", new byte[0]);
        tar.directory("global");
        tar.directory("base");
        DbDirectory dbs = DbDirectory.decode(store.getValue(Key.databaseDirectory(), lsn, redo));
        String versionDir = "PG_17_" + Integer.toUnsignedString(control.catalogVersionNo());
        tar.directory("pg_tblspc");
        // Every tablespace is in place: a directory pg_tblspc/<oid>, not a symlink (TablespaceIngest).
        java.util.TreeSet<Integer> tablespaces = new java.util.TreeSet<>(Integer::compareUnsigned);
        for (int spc : NumberSet.decode(store.getValue(Key.tablespaceDirectory(), lsn, redo)).toArray()) {
            tablespaces.add(spc);
        }
        for (DbDirectory.Db db : dbs.entries()) {
            if (db.spcOid() != DEFAULT_TABLESPACE && db.spcOid() != GLOBAL_TABLESPACE) {
                tablespaces.add(db.spcOid());
            }
        }
        for (int spc : tablespaces) {
            tar.directory("pg_tblspc/" + Integer.toUnsignedString(spc));
            tar.directory("pg_tblspc/" + Integer.toUnsignedString(spc) + "/" + versionDir);
        }
        for (DbDirectory.Db db : dbs.entries()) {
            String dir = databasePath(db, versionDir);
            byte[] map = store.getValue(Key.relmapperFile(db.spcOid(), db.dbOid()), lsn, redo);
            if (db.spcOid() == DEFAULT_TABLESPACE) {
                tar.directory(dir);
                tar.file(dir + "/PG_VERSION", PG_VERSION);
            } else if (db.spcOid() != GLOBAL_TABLESPACE) {
                tar.directory(dir);
                if (map != null) {
                    // The database's own tablespace (its relmapper file is there): backends check
                    // PG_VERSION of the database path. Elsewhere the directory holds only
                    // relations, so that DROP TABLESPACE finds it empty once they are gone.
                    tar.file(dir + "/PG_VERSION", PG_VERSION);
                }
            }
            if (map != null) {
                tar.file(dir + "/pg_filenode.map", map);
            }
            writeRelations(store, redo, lsn, db, dir, tar, incremental, counts);
        }
        for (SlruKind kind : SlruKind.values()) {
            writeSlru(store, redo, lsn, kind, tar);
        }
        writeTwoPhase(store, redo, lsn, checkpoint.nextFullXid(), tar);
        for (String d : EMPTY_DIRECTORIES) {
            tar.directory(d);
        }
        tar.directory("pg_wal");
        tar.directory("pg_wal/archive_status");
        tar.directory("pg_wal/summaries");
        for (WalSegmentWriter.Segment segment : wal.segments()) {
            tar.beginFile("pg_wal/" + segment.fileName(checkpoint.thisTimeLineId()), segmentSize);
            segment.writeTo(new TarEntryStream(tar));
            tar.endFile();
        }
        tar.file("global/pg_control", shutDown.encode());
        tar.finish();
        buffered.flush();
        Result result = new Result(recordLsn, wal.endLsn(), tar.bytesWritten(), counts.full, counts.sent,
                incremental == null ? null : incremental.base());
        if (incremental == null) {
            LOG.info("basebackup timeline={} lsn={} prev_record_lsn={} checkpoint_lsn={} wal_end={} tar_bytes={}"
                            + " relation_blocks={}", tl, lsn, prevRecordLsn, recordLsn, wal.endLsn(), result.tarBytes(),
                    result.relationBlocks());
        } else {
            LOG.info("basebackup timeline={} lsn={} prev_record_lsn={} checkpoint_lsn={} wal_end={} tar_bytes={}"
                            + " incremental base={} relation_blocks_sent={} of relation_blocks={} reused_files={}", tl, lsn,
                    prevRecordLsn, recordLsn, wal.endLsn(), result.tarBytes(), incremental.base(),
                    result.relationBlocksSent(), result.relationBlocks(), counts.reusedFiles);
        }
        return result;
    }

    private static String databasePath(DbDirectory.Db db, String versionDir) {
        if (db.spcOid() == GLOBAL_TABLESPACE && db.dbOid() == 0) {
            return "global";
        }
        if (db.spcOid() == DEFAULT_TABLESPACE) {
            return "base/" + Integer.toUnsignedString(db.dbOid());
        }
        if (db.spcOid() == GLOBAL_TABLESPACE || db.dbOid() == 0) {
            throw new StorageException(StorageException.Category.CORRUPT, "database directory lists tablespace "
                    + Integer.toUnsignedString(db.spcOid()) + " / database " + Integer.toUnsignedString(db.dbOid())
                    + "; pg_global holds only database 0, and database 0 only in pg_global");
        }
        return "pg_tblspc/" + Integer.toUnsignedString(db.spcOid()) + "/" + versionDir + "/"
                + Integer.toUnsignedString(db.dbOid());
    }

    /**
     * Every fork of the database's relations; an unlogged relation (it has an init fork) gets main
     * = init, nothing else. Incremental: a logged fork whose file the base holds comes as reuse
     * entries; everything else whole, as in a full basebackup.
     */
    private static void writeRelations(LayerStore store, Redo redo, Lsn lsn, DbDirectory.Db db, String dir,
                                       TarWriter tar, Incremental incremental, Counts counts) throws IOException {
        RelDirectory rels = RelDirectory.decode(store.getValue(Key.relationDirectory(db.spcOid(), db.dbOid()), lsn, redo));
        for (RelDirectory.RelFork rf : rels.entries()) {
            boolean unlogged = rels.contains(rf.relNumber(), 3);
            if (unlogged && rf.fork() != 3) {
                continue; // PostgreSQL's reset after a crash does the same: only the init fork survives
            }
            ChangedBlocks.Fork fork = new ChangedBlocks.Fork(db.spcOid(), db.dbOid(), rf.relNumber(), rf.fork());
            long baseSize = incremental == null || unlogged ? -1 : incremental.baseSize(fork);
            if (baseSize >= 0) {
                writeReusedFork(store, redo, lsn, db, dir, fork, baseSize, incremental.changed(), tar, counts);
            } else {
                writeFork(store, redo, lsn, db, dir, rf.relNumber(), rf.fork(), rf.fork(), tar, counts);
            }
            if (unlogged) {
                writeFork(store, redo, lsn, db, dir, rf.relNumber(), 3, 0, tar, counts);
            }
        }
    }

    private static void writeFork(LayerStore store, Redo redo, Lsn lsn, DbDirectory.Db db, String dir, int relNumber,
                                  int sourceFork, int fileFork, TarWriter tar, Counts counts) throws IOException {
        long size = forkSize(store, redo, lsn, db, relNumber, sourceFork);
        String base = forkPath(dir, relNumber, fileFork);
        for (long seg = 0; seg < segments(size); seg++) {
            long first = seg * RELSEG_BLOCKS;
            long count = Math.min(RELSEG_BLOCKS, size - first);
            tar.beginFile(segmentPath(base, seg), count * BLOCK_SIZE);
            for (long b = first; b < first + count; b++) {
                tar.write(page(store, redo, lsn, db, relNumber, sourceFork, b));
            }
            tar.endFile();
        }
        counts.full += size;
        counts.sent += size;
    }

    /**
     * A logged fork whose file the base holds: per segment at E a reuse entry with the segment's
     * length in the base and at E and the pages that may differ ({@link ChangedBlocks#segment}),
     * read at E as {@link #writeFork} reads them. Segments of the base past the last one at E are
     * not mentioned: the archive does not have them, so the directory it makes does not either.
     */
    private static void writeReusedFork(LayerStore store, Redo redo, Lsn lsn, DbDirectory.Db db, String dir,
                                        ChangedBlocks.Fork fork, long baseSize, ChangedBlocks changed, TarWriter tar,
                                        Counts counts) throws IOException {
        long size = forkSize(store, redo, lsn, db, fork.relNumber(), fork.fork());
        String base = forkPath(dir, fork.relNumber(), fork.fork());
        for (long seg = 0; seg < segments(size); seg++) {
            ChangedBlocks.Segment s = changed.segment(fork, seg, baseSize, size);
            tar.beginFile(IncrementalFormat.REUSE_PREFIX + segmentPath(base, seg),
                    IncrementalFormat.entrySize(s.pages().length));
            tar.write(IncrementalFormat.header(s.baseBlocks(), s.blocks()));
            long first = seg * RELSEG_BLOCKS;
            for (int b : s.pages()) {
                tar.write(IncrementalFormat.blockNumber(b));
                tar.write(page(store, redo, lsn, db, fork.relNumber(), fork.fork(), first + b));
            }
            tar.endFile();
            counts.sent += s.pages().length;
            counts.reusedFiles++;
        }
        counts.full += size;
    }

    private static long forkSize(LayerStore store, Redo redo, Lsn lsn, DbDirectory.Db db, int relNumber, int fork) {
        long size = BlockCount.decode(store.getValue(Key.relationSize(db.spcOid(), db.dbOid(), relNumber, fork), lsn,
                redo));
        if (size < 0) {
            throw new StorageException(StorageException.Category.CORRUPT, "relation " + db.spcOid() + "/" + db.dbOid()
                    + "/" + Integer.toUnsignedString(relNumber) + " fork " + fork
                    + " is in the relation directory at " + lsn + " but has no size");
        }
        return size;
    }

    /** Segment 0 always exists (possibly empty); later segments only for blocks beyond 1 GB. */
    private static long segments(long size) {
        return Math.max(1, (size + RELSEG_BLOCKS - 1) / RELSEG_BLOCKS);
    }

    private static String forkPath(String dir, int relNumber, int fileFork) {
        return dir + "/" + Integer.toUnsignedString(relNumber) + switch (fileFork) {
            case 0 -> "";
            case 1 -> "_fsm";
            case 2 -> "_vm";
            default -> "_init";
        };
    }

    private static String segmentPath(String forkPath, long seg) {
        return seg == 0 ? forkPath : forkPath + "." + seg;
    }

    /** A block at E; one never written (below the size) is a zero page. */
    private static byte[] page(LayerStore store, Redo redo, Lsn lsn, DbDirectory.Db db, int relNumber, int fork,
                               long block) {
        byte[] page = store.getValue(Key.relationBlock(db.spcOid(), db.dbOid(), relNumber, fork, (int) block), lsn, redo);
        return page != null ? checkPage(page, db, relNumber, fork, block) : ZERO_PAGE;
    }

    private static byte[] checkPage(byte[] page, DbDirectory.Db db, int relNumber, int fork, long block) {
        if (page.length != BLOCK_SIZE) {
            throw new StorageException(StorageException.Category.CORRUPT, "block " + block + " of relation "
                    + db.spcOid() + "/" + db.dbOid() + "/" + Integer.toUnsignedString(relNumber) + " fork " + fork
                    + " is " + page.length + " bytes, not " + BLOCK_SIZE);
        }
        return page;
    }

    private static void writeSlru(LayerStore store, Redo redo, Lsn lsn, SlruKind kind, TarWriter tar)
            throws IOException {
        tar.directory(kind.directory());
        NumberSet segments = NumberSet.decode(store.getValue(Key.slruDirectory(kind), lsn, redo));
        for (int seg : segments.toArray()) {
            long pages = BlockCount.decode(store.getValue(Key.slruSegmentSize(kind, seg), lsn, redo));
            if (pages < 0) {
                throw new StorageException(StorageException.Category.CORRUPT, kind.directory() + " segment "
                        + Integer.toHexString(seg) + " is listed at " + lsn + " but has no size");
            }
            tar.beginFile(kind.directory() + "/" + String.format(Locale.ROOT, "%04X", seg), pages * BLOCK_SIZE);
            for (int p = 0; p < pages; p++) {
                byte[] page = store.getValue(Key.slruPage(kind, seg, p), lsn, redo);
                tar.write(page != null ? page : ZERO_PAGE);
            }
            tar.endFile();
        }
    }

    private static void writeTwoPhase(LayerStore store, Redo redo, Lsn lsn, long nextFullXid, TarWriter tar)
            throws IOException {
        tar.directory("pg_twophase");
        NumberSet xids = NumberSet.decode(store.getValue(Key.twoPhaseDirectory(), lsn, redo));
        for (int xid : xids.toArray()) {
            byte[] file = store.getValue(Key.twoPhaseFile(xid), lsn, redo);
            if (file == null) {
                throw new StorageException(StorageException.Category.CORRUPT, "two-phase file of xid "
                        + Integer.toUnsignedString(xid) + " is listed at " + lsn + " but missing");
            }
            tar.file("pg_twophase/" + String.format(Locale.ROOT, "%016X", fullXid(xid, nextFullXid)), file);
        }
    }

    /** The 64-bit XID of a prepared transaction's 32-bit xid: the newest one below next XID ({@code AdjustToFullTransactionId}). */
    static long fullXid(int xid, long nextFullXid) {
        long epoch = nextFullXid >>> 32;
        int nextXid = (int) nextFullXid;
        if (Integer.compareUnsigned(xid, nextXid) > 0 && epoch > 0) {
            epoch--;
        }
        return (epoch << 32) | Integer.toUnsignedLong(xid);
    }

    /** Lets a WAL segment image stream itself into the current tar entry. */
    private static final class TarEntryStream extends OutputStream {
        private final TarWriter tar;

        TarEntryStream(TarWriter tar) {
            this.tar = tar;
        }

        @Override
        public void write(int b) throws IOException {
            tar.write(new byte[] {(byte) b});
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            tar.write(b, off, len);
        }
    }
}
