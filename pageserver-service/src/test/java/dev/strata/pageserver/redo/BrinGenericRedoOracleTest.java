package dev.strata.pageserver.redo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.ingest.RmgrRegistry;
import dev.strata.pageserver.ingest.TimelineBase;
import dev.strata.pageserver.ingest.WalIngest;
import dev.strata.pageserver.ingest.WalReceiver;
import dev.strata.pageserver.redo.brin.BrinRedo;
import dev.strata.pageserver.redo.page.ItemId;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pageserver.timeline.StorageConfig;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.replication.ReplicationClient;
import dev.strata.pgcore.wal.BlockReference;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.RmgrId;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The redo oracle for BRIN and generic WAL against a real PostgreSQL 17 with
 * {@code wal_consistency_checking=all}: a seeded random workload that reaches every BRIN record
 * type (CREATE_INDEX, INSERT and UPDATE with and without +INIT, SAMEPAGE_UPDATE, REVMAP_EXTEND
 * with a regular page evacuated, DESUMMARIZE) and generic WAL (contrib/bloom: inserts, VACUUM),
 * streamed through {@link WalReceiver} into {@link WalIngest}. Every record of every manager
 * with a routine must agree with its image (0 mismatches), and each BRIN type and Generic must
 * have been verified.
 *
 * <p>A second receiver ingests the same WAL with a SAMEPAGE_UPDATE routine broken on purpose
 * (a fault in test code only): every SAMEPAGE_UPDATE the good oracle verified must be a
 * mismatch there, and nothing else.
 *
 * <p>The seed is {@code -Dstrata.redo.oracle.seed=N} (default 14).
 */
class BrinGenericRedoOracleTest {

    private static final Logger log = LoggerFactory.getLogger(BrinGenericRedoOracleTest.class);
    private static final int SEGMENT = 16 << 20;

    private static final String[] REQUIRED = {
        "BRIN/CREATE_INDEX", "BRIN/INSERT", "BRIN/INSERT+INIT", "BRIN/UPDATE", "BRIN/UPDATE+INIT",
        "BRIN/SAMEPAGE_UPDATE", "BRIN/REVMAP_EXTEND", "BRIN/DESUMMARIZE", "Generic/Generic",
    };

    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void javaBrinAndGenericRedoMatchEveryConsistencyImage(@TempDir Path dir) throws Exception {
        long seed = Long.getLong("strata.redo.oracle.seed", 14);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        try (PostgresServer pg = PostgresServer.builder()
                .setting("wal_level", "replica")
                .setting("wal_consistency_checking", "all")
                .setting("full_page_writes", "on")
                .setting("autovacuum", "off")
                .setting("wal_keep_size", "2GB")
                .setting("checkpoint_timeout", "1h")
                .setting("max_wal_size", "4GB")
                .start()) {
            Lsn start;
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
                 Statement s = c.createStatement()) {
                Lsn switched = Lsn.parse(scalar(s, "SELECT pg_switch_wal()"));
                start = Lsn.ofSegment(Lsn.of(switched.value() - 1).segmentNumber(SEGMENT) + 1, SEGMENT);
                s.execute("CREATE DATABASE redo STRATEGY WAL_LOG");
            }
            RedoOracle oracle = RedoOracle.defaults();
            RedoOracle faulty = new RedoOracle(brokenSamepageUpdate(), true);
            try (LayerStore store = LayerStore.create(dir.resolve("good"), TimelineId.random(), start, StorageConfig.DEFAULTS);
                 LayerStore store2 = LayerStore.create(dir.resolve("faulty"), TimelineId.random(), start, StorageConfig.DEFAULTS)) {
                WalIngest ingest = new WalIngest(store, RmgrRegistry.defaults(), false, TimelineBase.WAL_ONLY,
                        Lsn.INVALID, oracle);
                WalIngest ingest2 = new WalIngest(store2, RmgrRegistry.defaults(), false, TimelineBase.WAL_ONLY,
                        Lsn.INVALID, faulty);
                try (WalReceiver receiver = new WalReceiver("brin-good", ingest, start, options(pg, "brin-good"), group).start();
                     WalReceiver receiver2 = new WalReceiver("brin-faulty", ingest2, start, options(pg, "brin-faulty"), group).start()) {
                    Lsn end = workload(pg, new Random(seed));
                    receiver.awaitLsn(end, Duration.ofSeconds(300));
                    receiver2.awaitLsn(end, Duration.ofSeconds(300));
                    assertThat(receiver.failure()).isNull();
                    assertThat(receiver2.failure()).as("the oracle must never stop ingest").isNull();
                }
            }
            Map<String, RedoOracle.Counts> counts = oracle.snapshot();
            long records = counts.values().stream().mapToLong(RedoOracle.Counts::seen).sum();
            log.info("redo oracle, seed {}, wal_consistency_checking=all, workload of BrinGenericRedoOracleTest:\n{}"
                    + "oracle time on the ingest thread: {} ms for {} records", seed, oracle.table(),
                    oracle.nanosSpent() / 1_000_000, records);
            log.info("same WAL with a deliberately broken SAMEPAGE_UPDATE routine:\n{}", faulty.table());
            assertThat(oracle.mismatches()).as("records whose Java redo disagrees with the image (see the WARN lines)")
                    .isZero();
            for (String type : REQUIRED) {
                RedoOracle.Counts c = counts.get(type);
                assertThat(c).as(type + " never seen: the workload no longer reaches it").isNotNull();
                assertThat(c.verified()).as(type + " verified").isPositive();
            }
            for (RedoOracle.Counts c : counts.values()) {
                assertThat(c.noRoutine()).isZero();
            }
            RedoOracle.Counts broken = faulty.snapshot().get("BRIN/SAMEPAGE_UPDATE");
            assertThat(broken.mismatched()).isEqualTo(counts.get("BRIN/SAMEPAGE_UPDATE").verified()).isPositive();
            assertThat(broken.verified()).isZero();
            assertThat(faulty.mismatches()).isEqualTo(broken.mismatched());
        } finally {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /** The default routines, but SAMEPAGE_UPDATE flips the last byte of the tuple it wrote. */
    private static Map<Integer, RmgrRedo> brokenSamepageUpdate() {
        Map<Integer, RmgrRedo> m = new LinkedHashMap<>(RedoOracle.defaultRoutines());
        RmgrRedo brin = m.get(RmgrId.BRIN.id());
        m.put(RmgrId.BRIN.id(), new RmgrRedo() {
            @Override
            public boolean handles(DecodedRecord r) {
                return brin.handles(r);
            }

            @Override
            public void redo(DecodedRecord r, BlockReference b, byte[] page) {
                brin.redo(r, b, page);
                if ((r.info() & BrinRedo.XLOG_BRIN_OPMASK) == BrinRedo.XLOG_BRIN_SAMEPAGE_UPDATE) {
                    int offnum = r.mainDataBuffer().order(java.nio.ByteOrder.LITTLE_ENDIAN).getShort(0) & 0xFFFF;
                    page[ItemId.offset(page, offnum) + ItemId.length(page, offnum) - 1] ^= 0x5A;
                }
            }

            @Override
            public void mask(byte[] page, long blockNumber) {
                brin.mask(page, blockNumber);
            }
        });
        return m;
    }

    private static ReplicationClient.Options options(PostgresServer pg, String name) {
        return new ReplicationClient.Options(pg.host(), pg.port(), pg.user(), pg.password(), name, Duration.ofSeconds(5));
    }

    /** Runs the workload in database {@code redo}; returns a record boundary at or after its end. */
    private static Lsn workload(PostgresServer pg, Random rnd) throws Exception {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl("redo"));
             Statement s = c.createStatement()) {
            // Revmap: one heap page per range and per row (fillfactor 10, ~900-byte rows), so
            // more than REVMAP_PAGE_MAXITEMS (1360) ranges need a second revmap page, where a
            // regular page already is: it is evacuated (UPDATE) and the revmap extended
            // (REVMAP_EXTEND). The index exists before the rows (CREATE_INDEX, first
            // REVMAP_EXTEND); summarizing in batches writes INSERT and INSERT+INIT.
            s.execute("CREATE TABLE b (id int, t text, pad text) WITH (fillfactor = 10)");
            s.execute("CREATE INDEX b_brin ON b USING brin (id, t) WITH (pages_per_range = 1)");
            int rows = 0;
            while (rows < 1450) {
                int n = 150 + rnd.nextInt(150);
                s.execute("INSERT INTO b SELECT g, md5(g::text), repeat('p', 900) FROM generate_series("
                        + (rows + 1) + ", " + (rows + n) + ") g");
                rows += n;
                scalar(s, "SELECT brin_summarize_new_values('b_brin')");
            }
            // Summaries of small rows fill a regular page; values outside a range widen its
            // summary in place (SAMEPAGE_UPDATE) while it fits, then longer texts move it to
            // another page (UPDATE, UPDATE+INIT for a fresh page).
            // (Eight ~1 KB rows a heap page; after DELETE and VACUUM the holes take new rows, so
            // they land in summarized ranges.)
            s.execute("CREATE TABLE m (id int, t text, pad text)");
            s.execute("CREATE INDEX m_brin ON m USING brin (id, t) WITH (pages_per_range = 1)");
            s.execute("INSERT INTO m SELECT g, 'v' || g, repeat('p', 950) FROM generate_series(1, 2400) g");
            scalar(s, "SELECT brin_summarize_new_values('m_brin')");
            s.execute("DELETE FROM m WHERE id % 4 = 0");
            s.execute("VACUUM m");
            s.execute("CHECKPOINT"); // later first touches carry real full-page writes
            for (int i = 0; i < 400; i++) {
                int len = rnd.nextInt(4) == 0 ? 100 + rnd.nextInt(300) : 1 + rnd.nextInt(6);
                s.execute("INSERT INTO m VALUES (" + (rnd.nextInt(40000) - 20000) + ", repeat(chr("
                        + (97 + rnd.nextInt(26)) + "), " + len + "))");
            }
            // DESUMMARIZE, then summarize again (INSERT on pages with free line pointers).
            for (int i = 0; i < 20; i++) {
                scalar(s, "SELECT brin_desummarize_range('m_brin', " + rnd.nextInt(200) + ")");
            }
            scalar(s, "SELECT brin_summarize_new_values('m_brin')");
            s.execute("UPDATE m SET t = t || 'w' WHERE id % 97 = 1");

            // Generic WAL: bloom inserts (deltas; new pages are full images), a checkpoint,
            // more inserts, DELETE and VACUUM (pages rewritten), and inserts after it.
            s.execute("CREATE EXTENSION bloom");
            s.execute("CREATE TABLE g (a int, b int, c text)");
            s.execute("CREATE INDEX g_bloom ON g USING bloom (a, b, c) WITH (length = 80)");
            for (int i = 0; i < 6; i++) {
                int n = 100 + rnd.nextInt(200);
                s.execute("INSERT INTO g SELECT g, g * " + (1 + rnd.nextInt(9)) + ", md5(g::text) FROM generate_series(1, "
                        + n + ") g");
            }
            s.execute("CHECKPOINT");
            s.execute("INSERT INTO g SELECT g, g, 'x' FROM generate_series(1, 300) g");
            s.execute("DELETE FROM g WHERE a % 3 = " + rnd.nextInt(3));
            s.execute("VACUUM g");
            s.execute("INSERT INTO g SELECT g, g, 'y' FROM generate_series(1, 200) g");
            try (Connection pc = DriverManager.getConnection(pg.jdbcUrl("postgres")); Statement ps = pc.createStatement()) {
                return recordBoundary(Lsn.parse(scalar(ps, "SELECT pg_current_wal_insert_lsn()")));
            }
        }
    }

    /** A record ending at a page boundary ends there for ingest, not after the next page header. */
    private static Lsn recordBoundary(Lsn insert) {
        int inPage = insert.pageOffset(8192);
        if (inPage == 24 || (inPage == 40 && insert.segmentOffset(SEGMENT) == 40)) {
            return insert.pageStart(8192);
        }
        return insert;
    }

    private static String scalar(Statement s, String sql) throws Exception {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
