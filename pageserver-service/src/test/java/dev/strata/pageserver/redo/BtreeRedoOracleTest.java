package dev.strata.pageserver.redo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.ingest.RmgrRegistry;
import dev.strata.pageserver.ingest.TimelineBase;
import dev.strata.pageserver.ingest.WalIngest;
import dev.strata.pageserver.ingest.WalReceiver;
import dev.strata.pageserver.redo.btree.BtreeRecords;
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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The redo oracle for btree (and sequence) against a real PostgreSQL 17 with
 * {@code wal_consistency_checking=all}: a workload that reaches every btree record type, its
 * WAL streamed through {@link WalReceiver} into {@link WalIngest}. The Java redo must agree
 * with every image (0 mismatches, heap and heap2 included) and each btree record type that
 * changes a page must have been verified at least once; REUSE_PAGE, which registers no page,
 * must have been seen.
 *
 * <p>A second receiver ingests the same WAL with a deliberately broken INSERT_LEAF routine
 * (a fault injected here, in test code only): every INSERT_LEAF the good oracle verified must
 * be a mismatch there, nothing else, and ingest must go on.
 *
 * <p>{@code wal_level=replica}: REUSE_PAGE is only written for standbys.
 */
class BtreeRedoOracleTest {

    private static final Logger log = LoggerFactory.getLogger(BtreeRedoOracleTest.class);
    private static final int SEGMENT = 16 << 20;

    /** Btree record types with a routine that changes pages: each must be verified at least once. */
    private static final String[] REQUIRED = {
        "Btree/INSERT_LEAF", "Btree/INSERT_UPPER", "Btree/INSERT_META", "Btree/INSERT_POST", "Btree/SPLIT_L",
        "Btree/SPLIT_R", "Btree/DEDUP", "Btree/VACUUM", "Btree/DELETE", "Btree/MARK_PAGE_HALFDEAD",
        "Btree/UNLINK_PAGE", "Btree/UNLINK_PAGE_META", "Btree/NEWROOT", "Btree/META_CLEANUP", "Sequence/LOG",
    };

    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void javaBtreeRedoMatchesEveryConsistencyImage(@TempDir Path dir) throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        try (PostgresServer pg = PostgresServer.builder()
                .setting("wal_level", "replica")
                .setting("wal_consistency_checking", "all")
                .setting("full_page_writes", "on")
                .setting("autovacuum", "off") // VACUUM runs where the workload says
                .setting("wal_keep_size", "2GB")
                .setting("checkpoint_timeout", "1h")
                .setting("max_wal_size", "4GB")
                .start()) {
            Lsn start;
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
                 Statement s = c.createStatement()) {
                Lsn switched = Lsn.parse(scalar(s, "SELECT pg_switch_wal()"));
                start = Lsn.ofSegment(Lsn.of(switched.value() - 1).segmentNumber(SEGMENT) + 1, SEGMENT);
                // A database created after the start: its relations have a previous version in
                // the store for every record (the WAL_LOG strategy logs every page).
                s.execute("CREATE DATABASE redo STRATEGY WAL_LOG");
            }
            RedoOracle oracle = RedoOracle.defaults();
            RedoOracle faulty = new RedoOracle(brokenInsertLeaf(), true);
            try (LayerStore store = LayerStore.create(dir.resolve("good"), TimelineId.random(), start, StorageConfig.DEFAULTS);
                 LayerStore store2 = LayerStore.create(dir.resolve("faulty"), TimelineId.random(), start, StorageConfig.DEFAULTS)) {
                WalIngest ingest = new WalIngest(store, RmgrRegistry.defaults(), false, TimelineBase.WAL_ONLY,
                        Lsn.INVALID, oracle);
                WalIngest ingest2 = new WalIngest(store2, RmgrRegistry.defaults(), false, TimelineBase.WAL_ONLY,
                        Lsn.INVALID, faulty);
                try (WalReceiver receiver = new WalReceiver("btree-good", ingest, start, options(pg, "btree-good"), group).start();
                     WalReceiver receiver2 = new WalReceiver("btree-faulty", ingest2, start, options(pg, "btree-faulty"), group).start()) {
                    Lsn end = workload(pg);
                    receiver.awaitLsn(end, Duration.ofSeconds(300));
                    receiver2.awaitLsn(end, Duration.ofSeconds(300));
                    assertThat(receiver.failure()).isNull();
                    assertThat(receiver2.failure()).as("the oracle must never stop ingest").isNull();
                }
            }
            Map<String, RedoOracle.Counts> counts = oracle.snapshot();
            long records = counts.values().stream().mapToLong(RedoOracle.Counts::seen).sum();
            log.info("redo oracle, wal_level=replica, wal_consistency_checking=all, workload of BtreeRedoOracleTest:\n{}"
                    + "oracle time on the ingest thread: {} ms for {} records", oracle.table(),
                    oracle.nanosSpent() / 1_000_000, records);
            log.info("same WAL with a deliberately broken INSERT_LEAF routine:\n{}", faulty.table());
            assertThat(oracle.mismatches()).as("records whose Java redo disagrees with the image (see the WARN lines)")
                    .isZero();
            for (String type : REQUIRED) {
                RedoOracle.Counts c = counts.get(type);
                assertThat(c).as(type + " never seen: the workload no longer reaches it").isNotNull();
                assertThat(c.verified()).as(type + " verified").isPositive();
            }
            RedoOracle.Counts reuse = counts.get("Btree/REUSE_PAGE");
            assertThat(reuse).as("Btree/REUSE_PAGE never seen: no deleted page was recycled").isNotNull();
            assertThat(reuse.seen()).isPositive();
            for (RedoOracle.Counts c : counts.values()) {
                assertThat(c.noRoutine()).isZero();
            }
            RedoOracle.Counts broken = faulty.snapshot().get("Btree/INSERT_LEAF");
            assertThat(broken.mismatched()).isEqualTo(counts.get("Btree/INSERT_LEAF").verified()).isPositive();
            assertThat(broken.verified()).isZero();
            assertThat(faulty.mismatches()).isEqualTo(broken.mismatched());
        } finally {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /**
     * The default routines, but INSERT_LEAF flips the first key byte of the tuple it inserted
     * (the byte after the 8-byte index tuple header), which no mask hides. A fake only to
     * inject a fault.
     */
    private static Map<Integer, RmgrRedo> brokenInsertLeaf() {
        Map<Integer, RmgrRedo> m = new LinkedHashMap<>(RedoOracle.defaultRoutines());
        RmgrRedo btree = m.get(RmgrId.BTREE.id());
        m.put(RmgrId.BTREE.id(), new RmgrRedo() {
            @Override
            public boolean handles(DecodedRecord r) {
                return btree.handles(r);
            }

            @Override
            public void redo(DecodedRecord r, BlockReference b, byte[] page) {
                btree.redo(r, b, page);
                if ((r.info() & 0xF0) == BtreeRecords.XLOG_BTREE_INSERT_LEAF && b.id() == 0) {
                    int offnum = BtreeRecords.insertOffnum(r.mainDataBuffer());
                    page[ItemId.offset(page, offnum) + 8] ^= 0x5A;
                }
            }

            @Override
            public void mask(byte[] page, long blockNumber) {
                btree.mask(page, blockNumber);
            }
        });
        return m;
    }

    private static ReplicationClient.Options options(PostgresServer pg, String name) {
        return new ReplicationClient.Options(pg.host(), pg.port(), pg.user(), pg.password(), name, Duration.ofSeconds(5));
    }

    /**
     * Runs the workload in database {@code redo}; returns a record boundary at or after its end.
     * Each step names the record types it is there for.
     */
    private static Lsn workload(PostgresServer pg) throws Exception {
        String url = pg.jdbcUrl("redo");
        try (Connection c = DriverManager.getConnection(url);
             Statement s = c.createStatement()) {
            // Sequence/LOG: creation, then nextval logs every 32 values.
            s.execute("CREATE SEQUENCE seq");
            s.execute("SELECT nextval('seq') FROM generate_series(1, 100)");

            // Wide keys (~200 bytes) make a three-level tree out of 2000 rows. The indexes are
            // created empty, so the first insert makes the root leaf (NEWROOT level 0); random
            // order gives SPLIT_L and SPLIT_R at leaf and inner levels, INSERT_UPPER, and
            // NEWROOT at levels 1 and 2.
            s.execute("CREATE TABLE w (id int, k text)");
            s.execute("CREATE INDEX w_k ON w (k)");
            s.execute("INSERT INTO w SELECT g, repeat(md5(((g * 7919) % 2003)::text), 6) FROM generate_series(1, 2000) g");

            // 500 key values of 8 rows each, spread over the heap: deduplication (DEDUP) makes
            // posting lists. After a DELETE and VACUUM
            // (VACUUM with posting lists losing TIDs), new rows reuse heap space: their TIDs fall
            // inside posting lists (INSERT_POST).
            s.execute("CREATE TABLE d (id int, k int, pad text)");
            s.execute("CREATE INDEX d_k ON d (k)");
            s.execute("INSERT INTO d SELECT g, g % 500, repeat('x', 200) FROM generate_series(1, 4000) g");
            s.execute("DELETE FROM d WHERE id % 3 = 0");
            s.execute("VACUUM d");
            for (int i = 0; i < 300; i++) {
                s.execute("INSERT INTO d VALUES (" + (5000 + i) + ", " + (i % 500) + ")");
            }
            // Narrow rows put several new TIDs in the heap space of each wide one deleted: the
            // leaves overflow and split while a new TID falls inside a posting list (SPLIT_L or
            // SPLIT_R with a posting list split).
            s.execute("INSERT INTO d SELECT 6000 + g, g % 500 FROM generate_series(1, 3000) g");
            // Pairs deduplicated into posting lists of two; VACUUM leaves one TID of each, and
            // the posting list becomes a plain tuple again (VACUUM updates).
            s.execute("CREATE TABLE e (id int, k int)");
            s.execute("CREATE INDEX e_k ON e (k)");
            s.execute("INSERT INTO e SELECT g, g / 2 FROM generate_series(1, 3000) g");
            s.execute("DELETE FROM e WHERE id % 2 = 0");
            s.execute("VACUUM e");

            // Simple deletion (DELETE): an index scan marks the deleted rows' entries LP_DEAD,
            // and inserts into the full leaves remove them instead of splitting.
            s.execute("CREATE TABLE u (id int, v int)");
            s.execute("CREATE INDEX u_id ON u (id)");
            s.execute("INSERT INTO u SELECT g * 2, g FROM generate_series(1, 3000) g");
            s.execute("DELETE FROM u WHERE id % 4 = 0");
            s.execute("SET enable_seqscan = off");
            s.execute("SET enable_bitmapscan = off");
            s.execute("SET enable_indexonlyscan = off");
            scalar(s, "SELECT count(v) FROM u WHERE id > 0");
            s.execute("RESET ALL");
            s.execute("INSERT INTO u SELECT g * 2 + 1, g FROM generate_series(1, 3000) g");

            // Page deletion: all but the top keys of the three-level index go, VACUUM empties
            // and deletes the pages (MARK_PAGE_HALFDEAD, UNLINK_PAGE, whole subtrees with their
            // inner pages, UNLINK_PAGE_META when one page is left on a level and becomes the
            // fast root), then records the deleted pages (META_CLEANUP).
            s.execute("DELETE FROM w WHERE k < (SELECT k FROM w ORDER BY k DESC OFFSET 60 LIMIT 1)");
            s.execute("VACUUM w");
            // Once no snapshot can see them, a second VACUUM puts the deleted pages in the free
            // space map; splits then recycle them (REUSE_PAGE), and the fast root splits
            // (INSERT_META).
            scalar(s, "SELECT txid_current()");
            scalar(s, "SELECT txid_current()");
            s.execute("VACUUM w");
            s.execute("INSERT INTO w SELECT g, repeat(md5(((g * 7919) % 2003)::text), 6) FROM generate_series(2001, 4000) g");
            s.execute("VACUUM w");
            s.execute("SELECT nextval('seq') FROM generate_series(1, 100)");
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
