package dev.strata.pgcore.wal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a diverse workload on a real PostgreSQL 17, then decodes its pg_wal segment files with
 * {@link WalReader} and compares every record and every block reference (data and restored
 * image bytes included) with what pg_walinspect reports over the same LSN range.
 */
class WalDifferentialTest {

    private static final Logger LOG = LoggerFactory.getLogger(WalDifferentialTest.class);

    @Test
    void decodesDefaultWalExactlyLikePgWalinspect() throws Exception {
        Result r = runAndCompare(false, 1500);
        assertThat(r.records()).isGreaterThanOrEqualTo(10_000);
        assertThat(r.fpis()).isPositive();
    }

    @Test
    void decodesConsistencyCheckedPglzWalExactlyLikePgWalinspect() throws Exception {
        Result r = runAndCompare(true, 1000);
        assertThat(r.records()).isGreaterThanOrEqualTo(10_000);
        // Every block of every record carries an image: most of them compressed with pglz.
        assertThat(r.compressedFpis()).isGreaterThan(r.records() / 2);
    }

    /**
     * A crash in the middle of writing a record spanning segments leaves its first part in
     * pg_wal; recovery writes an OVERWRITE_CONTRECORD record where the rest was missing. Our
     * decoding of that WAL must still agree with PostgreSQL's, and count one aborted record.
     */
    @Test
    void skipsARecordCutByACrashExactlyLikePostgres(@TempDir Path dir) throws Exception {
        try (PostgresServer pg = PostgresServer.builder().dataDir(dir.resolve("data"))
                .setting("wal_buffers", "64kB")
                .setting("max_wal_size", "4GB")
                .setting("wal_keep_size", "4GB")
                .setting("checkpoint_timeout", "1h")
                .setting("fsync", "off")
                .start()) {
            Lsn start;
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres")); Statement s = c.createStatement()) {
                s.execute("CREATE EXTENSION pg_walinspect");
                s.execute("CREATE TABLE t (x int)");
                start = Lsn.parse(scalar(s, "SELECT pg_current_wal_insert_lsn()"));
            }
            ExecutorService writer = Executors.newSingleThreadExecutor();
            try {
                Future<?> huge = writer.submit(() -> {
                    try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
                         Statement s = c.createStatement()) {
                        // One 200 MB record: written out page by page while it is being inserted.
                        s.execute("SELECT pg_logical_emit_message(false, 'strata', repeat('x', 200000000))");
                    }
                    return null;
                });
                try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres")); Statement s = c.createStatement()) {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
                    while (Lsn.parse(scalar(s, "SELECT pg_current_wal_lsn()")).minus(start) < 40L << 20) {
                        assertThat(System.nanoTime()).as("the huge record is being written").isLessThan(deadline);
                        assertThat(huge.isDone()).as("the huge record must still be in progress").isFalse();
                    }
                }
                pg.kill();
                try {
                    huge.get(30, TimeUnit.SECONDS);
                } catch (ExecutionException expected) {
                    // its connection died with the server
                }
            } finally {
                writer.shutdownNow();
            }
            pg.start();
            Lsn end;
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres")); Statement s = c.createStatement()) {
                s.execute("INSERT INTO t SELECT generate_series(1, 10000)");
                s.execute("CHECKPOINT");
                end = Lsn.parse(scalar(s, "SELECT pg_current_wal_flush_lsn()"));
            }
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
                 Connection blocksConn = DriverManager.getConnection(pg.jdbcUrl("postgres"))) {
                Result r = compare(pg, c, blocksConn, start, end);
                assertThat(r.records()).isGreaterThan(10_000);
            }
            try (WalReader reader = new WalReader(pg.walDir(), 1, start.segmentStart(16 << 20), end)) {
                List<String> types = new ArrayList<>();
                for (DecodedRecord rec = reader.next(); rec != null; rec = reader.next()) {
                    types.add(rec.recordTypeName());
                }
                assertThat(types).contains("OVERWRITE_CONTRECORD");
                assertThat(reader.abortedRecords()).isEqualTo(1);
            }
        }
    }

    record Result(int records, int blocks, int fpis, int compressedFpis, Set<String> rmgrs, List<Lsn> starts,
                  Lsn firstPrev) {
    }

    /**
     * After a clean shutdown, reading pg_wal without a stop LSN finds the end of WAL by itself
     * (zeroed or recycled pages, no error) right after the shutdown checkpoint, whose redo
     * pointer (the first 8 bytes of its main data) is its own LSN.
     */
    private static void assertWalEndsWithTheShutdownCheckpoint(PostgresServer pg, Lsn start, Result result) {
        DecodedRecord last = null;
        int count = 0;
        try (WalReader reader = new WalReader(pg.walDir(), 1, result.starts().get(0), null)) {
            for (DecodedRecord r = reader.next(); r != null; r = reader.next()) {
                last = r;
                count++;
            }
            assertThat(reader.reachedEndOfWal()).isTrue();
        }
        assertThat(count).isGreaterThan(result.records());
        assertThat(last).isNotNull();
        assertThat(last.rmgr()).isEqualTo(RmgrId.XLOG);
        assertThat(last.recordTypeName()).isEqualTo("CHECKPOINT_SHUTDOWN");
        assertThat(new Lsn(last.mainDataBuffer().getLong(0))).isEqualTo(last.startLsn());
    }

    /**
     * The replication case: a decoder that starts at a record in the middle of a segment and
     * receives the WAL in chunks of random sizes (as XLogData messages split it) yields the
     * same records.
     */
    private static void assertStreamDecodingAgrees(PostgresServer pg, Result result, Lsn end) throws Exception {
        int segmentSize = 16 * 1024 * 1024;
        Lsn from = result.starts().get(0);
        WalDecoder decoder = WalDecoder.atRecord(from, result.firstPrev(), 8192, segmentSize);
        java.util.Random random = new java.util.Random(17);
        List<Lsn> got = new ArrayList<>();
        long pos = from.value();
        while (pos < end.value()) {
            Lsn at = new Lsn(pos);
            byte[] segment = java.nio.file.Files.readAllBytes(pg.walDir().resolve(at.walFileName(1, segmentSize)));
            int off = at.segmentOffset(segmentSize);
            int limit = (int) Math.min(segmentSize, off + (end.value() - pos));
            while (off < limit) {
                int n = Math.min(limit - off, 1 + random.nextInt(20_000));
                decoder.feed(segment, off, n);
                off += n;
                pos += n;
                for (DecodedRecord r = decoder.poll(); r != null; r = decoder.poll()) {
                    got.add(r.startLsn());
                }
            }
        }
        assertThat(got).isEqualTo(result.starts());
    }

    private static Result runAndCompare(boolean consistencyChecking, int rows) throws Exception {
        PostgresServer.Builder b = PostgresServer.builder()
                .setting("max_prepared_transactions", "10")
                .setting("max_wal_size", "4GB")
                .setting("wal_keep_size", "4GB")
                .setting("checkpoint_timeout", "1h")
                .setting("fsync", "off");
        if (consistencyChecking) {
            b.setting("wal_consistency_checking", "all").setting("wal_compression", "pglz");
        }
        try (PostgresServer pg = b.start();
             Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
             Connection blocksConn = DriverManager.getConnection(pg.jdbcUrl("postgres"))) {
            Lsn start;
            Lsn end;
            try (Statement s = c.createStatement()) {
                s.execute("CREATE EXTENSION pg_walinspect");
                start = Lsn.parse(scalar(s, "SELECT pg_current_wal_insert_lsn()"));
                DiverseWorkload.run(pg::jdbcUrl, rows);
                end = Lsn.parse(scalar(s, "SELECT pg_current_wal_flush_lsn()"));
            }
            Result result = compare(pg, c, blocksConn, start, end);
            assertStreamDecodingAgrees(pg, result, end);
            pg.stop();
            assertWalEndsWithTheShutdownCheckpoint(pg, start, result);
            assertThat(result.rmgrs()).contains("XLOG", "Transaction", "Storage", "Database", "Standby", "Heap",
                    "Heap2", "Btree", "Hash", "Gin", "Gist", "Sequence", "SPGist", "BRIN", "MultiXact", "RelMap",
                    "LogicalMessage");
            LOG.info("matched records={} blocks={} fpis={} compressedFpis={} consistencyChecking={} range={}..{} rmgrs={}",
                    result.records(), result.blocks(), result.fpis(), result.compressedFpis(), consistencyChecking,
                    start, end, result.rmgrs());
            return result;
        }
    }

    private static Result compare(PostgresServer pg, Connection c, Connection blocksConn, Lsn start, Lsn end)
            throws Exception {
        c.setAutoCommit(false);
        blocksConn.setAutoCommit(false);
        int records = 0;
        int blocks = 0;
        int fpis = 0;
        int compressed = 0;
        Set<String> rmgrs = new TreeSet<>();
        List<Lsn> starts = new ArrayList<>();
        Lsn firstPrev = null;
        try (PreparedStatement recQ = c.prepareStatement("SELECT start_lsn, end_lsn, prev_lsn, xid, resource_manager,"
                + " record_type, record_length, main_data_length, fpi_length FROM pg_get_wal_records_info(?::pg_lsn, ?::pg_lsn)"
                + " ORDER BY start_lsn");
             PreparedStatement blkQ = blocksConn.prepareStatement("SELECT start_lsn, block_id, reltablespace, reldatabase,"
                + " relfilenode, relforknumber, relblocknumber, block_data_length, block_fpi_length, block_fpi_info,"
                + " block_data, block_fpi_data FROM pg_get_wal_block_info(?::pg_lsn, ?::pg_lsn, true)"
                + " ORDER BY start_lsn, block_id");
             WalReader reader = new WalReader(pg.walDir(), 1, start.segmentStart(16 * 1024 * 1024), end)) {
            recQ.setString(1, start.toString());
            recQ.setString(2, end.toString());
            recQ.setFetchSize(2000);
            blkQ.setString(1, start.toString());
            blkQ.setString(2, end.toString());
            blkQ.setFetchSize(500);
            try (ResultSet rec = recQ.executeQuery(); ResultSet blk = blkQ.executeQuery()) {
                boolean blkRow = blk.next();
                DecodedRecord ours = reader.next();
                while (ours != null && ours.startLsn().isBefore(start)) {
                    ours = reader.next(); // the reader began at the segment start
                }
                while (rec.next()) {
                    String where = "record " + rec.getString("start_lsn");
                    assertThat(ours).as("our decoder ended before " + where).isNotNull();
                    assertThat(ours.startLsn()).as(where).isEqualTo(Lsn.parse(rec.getString("start_lsn")));
                    assertThat(ours.endLsn()).as(where + " end").isEqualTo(Lsn.parse(rec.getString("end_lsn")));
                    assertThat(ours.prevLsn()).as(where + " prev").isEqualTo(Lsn.parse(rec.getString("prev_lsn")));
                    assertThat(ours.xid()).as(where + " xid").isEqualTo(Long.parseLong(rec.getString("xid")));
                    assertThat(RmgrId.nameOf(ours.rmid())).as(where + " rmgr").isEqualTo(rec.getString("resource_manager"));
                    assertThat(ours.recordTypeName()).as(where + " type (xl_info)").isEqualTo(rec.getString("record_type"));
                    assertThat(ours.totalLength()).as(where + " length").isEqualTo(rec.getInt("record_length"));
                    assertThat(ours.mainDataLength()).as(where + " main data").isEqualTo(rec.getInt("main_data_length"));
                    assertThat(ours.fpiLength()).as(where + " fpi length").isEqualTo(rec.getInt("fpi_length"));
                    rmgrs.add(rec.getString("resource_manager"));
                    starts.add(ours.startLsn());
                    if (firstPrev == null) {
                        firstPrev = ours.prevLsn();
                    }
                    for (BlockReference ref : ours.blocks()) {
                        String bw = where + " block " + ref.id();
                        assertThat(blkRow).as(bw + " missing in pg_get_wal_block_info").isTrue();
                        assertThat(Lsn.parse(blk.getString("start_lsn"))).as(bw).isEqualTo(ours.startLsn());
                        assertThat(blk.getInt("block_id")).as(bw).isEqualTo(ref.id());
                        assertThat(blk.getLong("reltablespace")).as(bw + " spc").isEqualTo(ref.locator().spcOid());
                        assertThat(blk.getLong("reldatabase")).as(bw + " db").isEqualTo(ref.locator().dbOid());
                        assertThat(blk.getLong("relfilenode")).as(bw + " rel").isEqualTo(ref.locator().relNumber());
                        assertThat(blk.getInt("relforknumber")).as(bw + " fork").isEqualTo(ref.forkNumber());
                        assertThat(blk.getLong("relblocknumber")).as(bw + " blkno").isEqualTo(ref.blockNumber());
                        assertThat(blk.getInt("block_data_length")).as(bw + " data length").isEqualTo(ref.dataLength());
                        byte[] data = blk.getBytes("block_data");
                        assertThat(ref.hasData() ? ref.data() : null).as(bw + " data").isEqualTo(data);
                        assertThat(ref.hasImage()).as(bw + " has image").isEqualTo(blk.getObject("block_fpi_info") != null);
                        if (ref.hasImage()) {
                            fpis++;
                            BlockImage img = ref.image();
                            if (img.isCompressed()) {
                                compressed++;
                            }
                            assertThat(blk.getInt("block_fpi_length")).as(bw + " fpi length").isEqualTo(img.length());
                            assertThat(imageFlags(img)).as(bw + " fpi info").isEqualTo(textArray(blk.getArray("block_fpi_info")));
                            assertThat(ref.restoredPage()).as(bw + " image bytes").isEqualTo(blk.getBytes("block_fpi_data"));
                        }
                        blocks++;
                        blkRow = blk.next();
                    }
                    records++;
                    ours = reader.next();
                }
                assertThat(ours).as("our decoder returned records pg_walinspect did not").isNull();
                assertThat(blkRow).as("pg_get_wal_block_info has blocks we did not decode").isFalse();
            }
        }
        c.commit();
        blocksConn.commit();
        return new Result(records, blocks, fpis, compressed, rmgrs, starts, firstPrev);
    }

    private static List<String> imageFlags(BlockImage img) {
        List<String> flags = new ArrayList<>();
        if (img.hasHole()) {
            flags.add("HAS_HOLE");
        }
        if (img.apply()) {
            flags.add("APPLY");
        }
        switch (img.compression()) {
            case PGLZ -> flags.add("COMPRESS_PGLZ");
            case LZ4 -> flags.add("COMPRESS_LZ4");
            case ZSTD -> flags.add("COMPRESS_ZSTD");
            case NONE -> { }
        }
        return flags;
    }

    private static List<String> textArray(Array a) throws Exception {
        return List.of((String[]) a.getArray());
    }

    private static String scalar(Statement s, String sql) throws Exception {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
