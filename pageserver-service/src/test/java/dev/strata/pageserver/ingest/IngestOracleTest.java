package dev.strata.pageserver.ingest;

import dev.strata.pageserver.redo.page.PageMask;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.Redo;
import dev.strata.pageserver.testing.WalOracle;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pageserver.timeline.StorageConfig;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.replication.ReplicationClient;
import dev.strata.pgcore.wal.ForkNumber;
import dev.strata.pgcore.wal.RelFileLocator;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ingest oracle, first version: a real PG17 primary with wal_consistency_checking=all
 * (so every page change carries the page after it), a workload on relations created after
 * the timeline start, WAL streamed from the primary's walsender through {@link WalReceiver}
 * into a {@link LayerStore}; then every block of those relations, read on the primary with
 * pageinspect, must equal our value at the last record LSN after masking (see
 * {@link PageMask}), and every fork size must match.
 */
class IngestOracleTest {

    private static final Logger log = LoggerFactory.getLogger(IngestOracleTest.class);
    private static final Redo NO_REDO = (key, base, records) -> {
        throw new AssertionError("ingest wrote a record value for " + key.describe());
    };

    record Rel(String name, PageMask.Kind kind, RelFileLocator locator) {
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void everyIngestedPageMatchesThePrimary(@TempDir Path dir) throws Exception {
        runOracle(dir, false, false);
    }

    /** The same, with the primary restarted halfway: the receiver reconnects at its last record. */
    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void resumesAtTheLastRecordAfterThePrimaryRestarts(@TempDir Path dir) throws Exception {
        runOracle(dir, true, false);
    }

    /** With data checksums every page we store must carry the checksum PostgreSQL computes for it. */
    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void pagesCarryValidChecksumsWhenTheClusterHasThem(@TempDir Path dir) throws Exception {
        runOracle(dir, false, true);
    }

    private void runOracle(Path dir, boolean restartHalfway, boolean checksums) throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        PostgresServer.Builder builder = WalOracle.consistencyCheckingPrimary(); // relations change only by the workload
        if (checksums) {
            builder.initdbOption("--data-checksums");
        }
        try (PostgresServer pg = builder.start()) {
            Lsn start;
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
                 Statement s = c.createStatement()) {
                assertThat(WalOracle.scalar(s, "SHOW data_checksums")).isEqualTo(checksums ? "on" : "off");
                s.execute("CREATE EXTENSION pageinspect");
                // The timeline starts at a fresh segment: nothing of our relations exists before it.
                start = WalOracle.freshSegment(s);
            }
            try (LayerStore store = LayerStore.create(dir.resolve("timeline"), TimelineId.random(), start,
                    StorageConfig.DEFAULTS)) {
                WalIngest ingest = new WalIngest(store, RmgrRegistry.defaults(), checksums, TimelineBase.WAL_ONLY);
                ReplicationClient.Options options = WalOracle.replication(pg, "pageserver-oracle");
                try (WalReceiver receiver = new WalReceiver(ingest, start, options, group).start()) {
                    try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
                         Statement s = c.createStatement()) {
                        firstHalf(s);
                        if (restartHalfway) {
                            receiver.awaitLsn(WalOracle.endOfWork(s), Duration.ofSeconds(60));
                        }
                    }
                    if (restartHalfway) {
                        Lsn before = receiver.lastRecordLsn();
                        pg.stop();
                        pg.start();
                        log.info("ingest oracle: primary restarted; receiver had ingested up to {}", before);
                    }
                    try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
                         Statement s = c.createStatement()) {
                        secondHalf(s);
                        receiver.awaitLsn(WalOracle.endOfWork(s), Duration.ofSeconds(60));
                        assertThat(receiver.failure()).isNull();
                        Lsn at = receiver.lastRecordLsn();
                        assertThat(store.lastRecordLsn()).isEqualTo(at);
                        assertThat(receiver.prevRecordLsn()).isLessThan(at);
                        compare(c, store, at, checksums);
                    }
                    log.info("ingest oracle: {} visibility-map clears skipped on relations older than the start",
                            ingest.skippedOnUnseenForks());
                }
            }
        } finally {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private static void firstHalf(Statement s) throws Exception {
        s.execute("CREATE TABLE t_main (id int PRIMARY KEY, val text, n int)");
        s.execute("CREATE INDEX t_main_n ON t_main (n)");
        s.execute("INSERT INTO t_main SELECT g, repeat('x', g % 50), g % 100 FROM generate_series(1, 5000) g");
        s.execute("UPDATE t_main SET val = val || 'u', n = n + 1 WHERE id % 7 = 0");
        s.execute("DELETE FROM t_main WHERE id % 11 = 0");
        s.execute("VACUUM t_main");
        // Values too large for a page go to the TOAST table and its btree index.
        s.execute("CREATE TABLE t_toast (id int, doc text)");
        s.execute("ALTER TABLE t_toast ALTER COLUMN doc SET STORAGE EXTERNAL"); // no compression: many chunks
        s.execute("INSERT INTO t_toast SELECT g, repeat(md5(g::text), 400) FROM generate_series(1, 40) g");
    }

    private static void secondHalf(Statement s) throws Exception {
        // After VACUUM set all-visible bits, these clear them again (visibility-map clears).
        s.execute("UPDATE t_main SET n = n + 1 WHERE id % 13 = 0");
        s.execute("DELETE FROM t_main WHERE id % 17 = 0");
        s.execute("UPDATE t_toast SET doc = repeat(md5((id + 1000)::text), 300) WHERE id % 3 = 0");
        s.execute("DELETE FROM t_toast WHERE id % 5 = 0");
        s.execute("INSERT INTO t_main SELECT g, 'late', 1 FROM generate_series(5001, 5200) g");
        // TRUNCATE gives the table a new relfilenode (smgr create), the old one is dropped.
        s.execute("CREATE TABLE t_trunc (id int, pad text)");
        s.execute("INSERT INTO t_trunc SELECT g, repeat('p', 100) FROM generate_series(1, 2000) g");
        s.execute("TRUNCATE t_trunc");
        s.execute("INSERT INTO t_trunc SELECT g, 'again' FROM generate_series(1, 100) g");
        // VACUUM cuts empty tail pages off (smgr truncate of main and VM).
        s.execute("CREATE TABLE t_shrink (id int, pad text)");
        s.execute("INSERT INTO t_shrink SELECT g, repeat('s', 200) FROM generate_series(1, 3000) g");
        s.execute("VACUUM t_shrink");
        s.execute("DELETE FROM t_shrink WHERE id > 300");
        s.execute("VACUUM t_shrink");
    }

    private void compare(Connection c, LayerStore store, Lsn at, boolean checksums) throws Exception {
        long dbOid;
        try (Statement s = c.createStatement()) {
            dbOid = Long.parseLong(WalOracle.scalar(s, "SELECT oid FROM pg_database WHERE datname = current_database()"));
            // 3000 rows of ~230 bytes fill ~90 pages; 300 rows fit in ~10.
            assertThat(Long.parseLong(WalOracle.scalar(s, "SELECT pg_relation_size('t_shrink') / 8192")))
                    .as("VACUUM must have truncated t_shrink, else the smgr truncate path went untested")
                    .isLessThan(20);
        }
        String toast;
        String toastIndex;
        try (Statement s = c.createStatement()) {
            toast = WalOracle.scalar(s, "SELECT reltoastrelid::regclass FROM pg_class WHERE relname = 't_toast'");
            toastIndex = WalOracle.scalar(s, "SELECT indexrelid::regclass FROM pg_index WHERE indrelid = '" + toast + "'::regclass");
        }
        List<Rel> rels = new ArrayList<>();
        for (String[] r : new String[][] {{"t_main", "HEAP"}, {"t_main_pkey", "BTREE"}, {"t_main_n", "BTREE"},
                {"t_trunc", "HEAP"}, {"t_shrink", "HEAP"}, {"t_toast", "HEAP"}, {toast, "HEAP"},
                {toastIndex, "BTREE"}}) {
            try (Statement s = c.createStatement()) {
                long relNumber = Long.parseLong(WalOracle.scalar(s, "SELECT pg_relation_filenode('" + r[0] + "')"));
                rels.add(new Rel(r[0], PageMask.Kind.valueOf(r[1]), new RelFileLocator(1663, dbOid, relNumber)));
            }
        }
        int pages = 0;
        int checksummed = 0;
        List<String> mismatches = new ArrayList<>();
        for (Rel rel : rels) {
            for (ForkNumber fork : new ForkNumber[] {ForkNumber.MAIN, ForkNumber.VISIBILITY_MAP}) {
                if (fork == ForkNumber.VISIBILITY_MAP && rel.kind() != PageMask.Kind.HEAP) {
                    continue;
                }
                long blocks = primaryBlocks(c, rel.name(), fork);
                byte[] size = store.getValue(IngestContext.sizeKey(rel.locator(), fork.ordinal()), at, NO_REDO);
                long ours = size == null ? -1 : IngestContext.decodeSize(size);
                if (ours != blocks && !(ours == -1 && blocks == 0)) {
                    mismatches.add(rel.name() + " " + fork.pgName() + ": size " + ours + " blocks, primary " + blocks);
                }
                PageMask.Kind kind = fork == ForkNumber.VISIBILITY_MAP ? PageMask.Kind.VISIBILITY_MAP : rel.kind();
                for (long blk = 0; blk < blocks; blk++) {
                    byte[] primary = WalOracle.rawPage(c, rel.name(), fork.pgName(), blk);
                    Key key = IngestContext.blockKey(rel.locator(), fork.ordinal(), blk);
                    byte[] mine = store.getValue(key, at, NO_REDO);
                    pages++;
                    if (mine == null) {
                        mismatches.add(key.describe() + " (" + rel.name() + "): no value at " + at);
                        continue;
                    }
                    int diff = PageMask.firstDifference(PageMask.mask(primary, kind), PageMask.mask(mine, kind));
                    if (diff >= 0) {
                        mismatches.add(key.describe() + " (" + rel.name() + "): differs at byte " + diff);
                    } else if (kind != PageMask.Kind.VISIBILITY_MAP) {
                        assertMaskIsNotBlind(primary, mine, kind, key);
                    }
                    if (checksums) {
                        int expected = postgresChecksum(c, mine, blk);
                        int stored = (mine[8] & 0xFF) | (mine[9] & 0xFF) << 8;
                        if (stored != expected) {
                            mismatches.add(key.describe() + " (" + rel.name() + "): checksum " + stored
                                    + ", page_checksum says " + expected);
                        }
                        checksummed++;
                    }
                }
            }
        }
        log.info("ingest oracle: compared {} pages of {} relations at {} ({} checksums verified), {} mismatches",
                pages, rels.size(), at, checksummed, mismatches.size());
        assertThat(mismatches).as("masked page and size mismatches").isEmpty();
        assertThat(pages).isGreaterThan(50);
    }

    /** The first byte of the lowest tuple (its xmin, or an index tuple's heap pointer) must not be masked. */
    private static void assertMaskIsNotBlind(byte[] primary, byte[] mine, PageMask.Kind kind, Key key) {
        int upper = (primary[14] & 0xFF) | (primary[15] & 0xFF) << 8;
        int special = (primary[16] & 0xFF) | (primary[17] & 0xFF) << 8;
        if (upper >= special) {
            return; // no tuples
        }
        byte[] flipped = mine.clone();
        flipped[upper] ^= 0x5A;
        assertThat(PageMask.firstDifference(PageMask.mask(primary, kind), PageMask.mask(flipped, kind)))
                .as("a flipped tuple byte on " + key.describe() + " must show").isEqualTo(upper);
    }

    private static int postgresChecksum(Connection c, byte[] page, long blk) throws Exception {
        try (PreparedStatement ps = c.prepareStatement("SELECT page_checksum(?, ?)")) {
            ps.setBytes(1, page);
            ps.setInt(2, (int) blk);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getShort(1) & 0xFFFF;
            }
        }
    }

    private static long primaryBlocks(Connection c, String rel, ForkNumber fork) throws Exception {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_relation_size(?::regclass, ?) / 8192")) {
            ps.setString(1, rel);
            ps.setString(2, fork.pgName());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }
}
