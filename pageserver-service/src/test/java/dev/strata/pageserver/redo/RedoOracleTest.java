package dev.strata.pageserver.redo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.ingest.RmgrRegistry;
import dev.strata.pageserver.ingest.TimelineBase;
import dev.strata.pageserver.ingest.WalIngest;
import dev.strata.pageserver.ingest.WalReceiver;
import dev.strata.pageserver.redo.heap.HeapRecords;
import dev.strata.pageserver.redo.page.HeapTuple;
import dev.strata.pageserver.redo.page.Page;
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
import java.io.StringReader;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The redo oracle against a real PostgreSQL 17: a primary with {@code wal_consistency_checking}
 * (so every heap and heap2 record carries the page it produced), a workload that reaches
 * every heap and heap2 record type with a routine, its WAL streamed through {@link WalReceiver}
 * into {@link WalIngest}. The Java redo must agree with every image (0 mismatches) and each
 * record type must have been verified at least {@link #MIN_VERIFIED} times.
 *
 * <p>A second receiver ingests the same WAL into a second store with a deliberately broken
 * INSERT routine (a fault injected here, in test code only): its oracle must report the
 * mismatches and ingest must go on, so a wrong routine cannot pass unnoticed.
 *
 * <p>{@code wal_consistency_checking} is {@code all}, not just heap,heap2: ingest still stores
 * images only, so the btree and catalog records of the workload need theirs too.
 */
class RedoOracleTest {

    private static final Logger log = LoggerFactory.getLogger(RedoOracleTest.class);
    private static final int SEGMENT = 16 << 20;
    private static final int MIN_VERIFIED = 3;

    /** Record types with a routine the workload must reach and the oracle must verify. */
    private static final String[] REQUIRED = {
        "Heap/INSERT", "Heap/INSERT+INIT", "Heap/DELETE", "Heap/UPDATE", "Heap/HOT_UPDATE", "Heap/LOCK",
        "Heap/INPLACE", "Heap/HEAP_CONFIRM", "Heap/UPDATE+INIT",
        "Heap2/MULTI_INSERT", "Heap2/MULTI_INSERT+INIT", "Heap2/PRUNE_ON_ACCESS", "Heap2/PRUNE_VACUUM_SCAN",
        "Heap2/PRUNE_VACUUM_CLEANUP", "Heap2/VISIBLE", "Heap2/LOCK_UPDATED",
    };

    /**
     * With {@code wal_level=logical} records carry more: old key tuples in delete and update
     * main data, tuple data kept beside images (REGBUF_KEEP_DATA), no prefix/suffix reuse, and
     * NEW_CID records; the routines must read past what they do not use.
     */
    @ParameterizedTest(name = "wal_level={0}")
    @ValueSource(strings = {"replica", "logical"})
    @Timeout(value = 600, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void javaRedoMatchesEveryConsistencyImage(String walLevel, @TempDir Path dir) throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        try (PostgresServer pg = PostgresServer.builder()
                .setting("wal_level", walLevel)
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
                // Created after the start, this database's catalogs reach the store (as the WAL_LOG
                // strategy's page images), so catalog changes such as VACUUM's in-place pg_class
                // updates have a previous version to replay on.
                s.execute("CREATE DATABASE redo STRATEGY WAL_LOG");
            }
            RedoOracle oracle = RedoOracle.defaults();
            RedoOracle faulty = new RedoOracle(brokenInsert(), true);
            try (LayerStore store = LayerStore.create(dir.resolve("good"), TimelineId.random(), start, StorageConfig.DEFAULTS);
                 LayerStore store2 = LayerStore.create(dir.resolve("faulty"), TimelineId.random(), start, StorageConfig.DEFAULTS)) {
                WalIngest ingest = new WalIngest(store, RmgrRegistry.defaults(), false, TimelineBase.WAL_ONLY,
                        Lsn.INVALID, oracle);
                WalIngest ingest2 = new WalIngest(store2, RmgrRegistry.defaults(), false, TimelineBase.WAL_ONLY,
                        Lsn.INVALID, faulty);
                try (WalReceiver receiver = new WalReceiver("redo-oracle", ingest, start, options(pg, "redo-good"), group).start();
                     WalReceiver receiver2 = new WalReceiver("redo-faulty", ingest2, start, options(pg, "redo-faulty"), group).start()) {
                    Lsn end = workload(pg);
                    receiver.awaitLsn(end, Duration.ofSeconds(240));
                    receiver2.awaitLsn(end, Duration.ofSeconds(240));
                    assertThat(receiver.failure()).isNull();
                    assertThat(receiver2.failure()).as("the oracle must never stop ingest").isNull();
                }
            }
            Map<String, RedoOracle.Counts> counts = oracle.snapshot();
            long records = counts.values().stream().mapToLong(RedoOracle.Counts::seen).sum();
            log.info("redo oracle, wal_level={}, wal_consistency_checking=all, workload of RedoOracleTest:\n{}"
                    + "oracle time on the ingest thread: {} ms for {} records", walLevel, oracle.table(),
                    oracle.nanosSpent() / 1_000_000, records);
            log.info("same WAL with a deliberately broken INSERT routine:\n{}", faulty.table());
            assertThat(oracle.mismatches()).as("records whose Java redo disagrees with the image (see the WARN lines)")
                    .isZero();
            for (String type : REQUIRED) {
                RedoOracle.Counts c = counts.get(type);
                assertThat(c).as(type + " never seen: the workload no longer reaches it").isNotNull();
                assertThat(c.verified()).as(type + " verified").isGreaterThanOrEqualTo(MIN_VERIFIED);
            }
            for (RedoOracle.Counts c : counts.values()) {
                assertThat(c.noRoutine()).isZero();
            }
            // The fault is caught, and only where it was injected.
            RedoOracle.Counts broken = faulty.snapshot().get("Heap/INSERT");
            assertThat(broken.mismatched()).isEqualTo(counts.get("Heap/INSERT").verified()).isPositive();
            assertThat(broken.verified()).isZero();
            assertThat(faulty.mismatches()).isEqualTo(broken.mismatched());
        } finally {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /**
     * The default routines, but INSERT (without INIT) flips the first byte after the new
     * tuple's header: null bitmap or data, which no mask hides. A fake only to inject a fault.
     */
    private static Map<Integer, RmgrRedo> brokenInsert() {
        Map<Integer, RmgrRedo> m = new LinkedHashMap<>(RedoOracle.defaultRoutines());
        RmgrRedo heap = m.get(RmgrId.HEAP.id());
        m.put(RmgrId.HEAP.id(), new RmgrRedo() {
            @Override
            public boolean handles(DecodedRecord r) {
                return heap.handles(r);
            }

            @Override
            public void redo(DecodedRecord r, BlockReference b, byte[] page) {
                heap.redo(r, b, page);
                if ((r.info() & 0xF0) == HeapRecords.XLOG_HEAP_INSERT) { // no INIT bit (low bits: XLR_INFO_MASK)
                    page[Page.upper(page) + HeapTuple.HEADER_SIZE] ^= 0x5A;
                }
            }

            @Override
            public void mask(byte[] page, long blockNumber) {
                heap.mask(page, blockNumber);
            }
        });
        return m;
    }

    private static ReplicationClient.Options options(PostgresServer pg, String name) {
        return new ReplicationClient.Options(pg.host(), pg.port(), pg.user(), pg.password(), name, Duration.ofSeconds(5));
    }

    /** Runs the workload in database {@code redo}; returns a record boundary at or after its end. */
    private static Lsn workload(PostgresServer pg) throws Exception {
        String url = pg.jdbcUrl("redo");
        try (Connection c = DriverManager.getConnection(url);
             Statement s = c.createStatement()) {
            // Plain inserts, one row per record (INSERT, INSERT+INIT on each new page).
            s.execute("CREATE TABLE t (id int PRIMARY KEY, k int, v text) WITH (fillfactor = 70)");
            s.execute("CREATE INDEX t_k ON t (k)");
            for (int i = 1; i <= 400; i++) {
                s.execute("INSERT INTO t VALUES (" + i + ", " + (i % 50) + ", repeat('v', " + (i % 90) + "))");
            }
            // COPY uses heap_multi_insert (MULTI_INSERT, +INIT on fresh pages).
            s.execute("CREATE TABLE c (id int, pad text)");
            StringBuilder rows = new StringBuilder();
            for (int i = 1; i <= 3000; i++) {
                rows.append(i).append('\t').append("row-").append(i).append(i % 7 == 0 ? "\\N" : "").append('\n');
            }
            ((PGConnection) c.unwrap(PGConnection.class)).getCopyAPI()
                    .copyIn("COPY c FROM STDIN", new StringReader(rows.toString()));
            s.execute("INSERT INTO c SELECT g, NULL FROM generate_series(1, 50) g"); // null bitmap tuples
            // From here the first change of each page also carries a real full-page write (an
            // image with BKPIMAGE_APPLY): not compared, and the next record replays on it.
            s.execute("CHECKPOINT");
            // Updates: HOT (no indexed column changes, room on the page thanks to fillfactor),
            // non-HOT (indexed column), and to another page (large new values).
            s.execute("UPDATE t SET v = v || 'h' WHERE id % 3 = 0");
            s.execute("UPDATE t SET k = k + 1 WHERE id % 5 = 0");
            s.execute("UPDATE t SET v = repeat('w', 1500) WHERE id % 37 = 0");
            // Prefix/suffix reuse on same-page updates: long values changed in the middle.
            s.execute("CREATE TABLE p (id int, a text, b text)");
            s.execute("INSERT INTO p SELECT g, repeat('a', 200), repeat('b', 200) FROM generate_series(1, 60) g");
            s.execute("UPDATE p SET a = repeat('a', 199) || 'z' WHERE id % 2 = 0");
            s.execute("DELETE FROM t WHERE id % 11 = 0");
            s.execute("DELETE FROM c WHERE id % 9 = 0");
            // Row locks: FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE (LOCK), and two sharers (multixact).
            c.setAutoCommit(false);
            s.execute("SELECT * FROM t WHERE id BETWEEN 1 AND 20 FOR UPDATE");
            s.execute("SELECT * FROM t WHERE id BETWEEN 21 AND 40 FOR SHARE");
            s.execute("SELECT * FROM t WHERE id BETWEEN 41 AND 60 FOR KEY SHARE");
            s.execute("SELECT * FROM t WHERE id BETWEEN 61 AND 80 FOR NO KEY UPDATE");
            try (Connection c2 = DriverManager.getConnection(url); Statement s2 = c2.createStatement()) {
                c2.setAutoCommit(false);
                s2.execute("SELECT * FROM t WHERE id BETWEEN 21 AND 30 FOR SHARE"); // second sharer: a multixact
                c2.commit();
            }
            c.commit();
            // LOCK_UPDATED: a key-share lock on a row whose newer version is uncommitted walks the
            // update chain and locks that version too (heap_lock_updated_tuple).
            try (Connection c2 = DriverManager.getConnection(url); Statement s2 = c2.createStatement()) {
                c2.setAutoCommit(false);
                s.execute("UPDATE t SET v = v || 'l' WHERE id BETWEEN 100 AND 120");
                s2.execute("SELECT * FROM t WHERE id BETWEEN 100 AND 120 FOR KEY SHARE");
                c.commit();
                c2.commit();
            }
            c.setAutoCommit(true);
            // Speculative insertion: INSERT ... ON CONFLICT finishes with CONFIRM.
            for (int i = 0; i < 20; i++) {
                s.execute("INSERT INTO t VALUES (" + (1000 + i) + ", 1, 'spec') ON CONFLICT (id) DO NOTHING");
                s.execute("INSERT INTO t VALUES (" + (1000 + i) + ", 1, 'dup') ON CONFLICT (id) DO UPDATE SET v = 'u'");
            }
            // Prune on access: many HOT updates of few rows fill the page, a later read prunes it.
            s.execute("CREATE TABLE hot (id int PRIMARY KEY, n int, pad text)");
            s.execute("INSERT INTO hot SELECT g, 0, repeat('p', 100) FROM generate_series(1, 20) g");
            for (int round = 0; round < 60; round++) {
                s.execute("UPDATE hot SET n = n + 1");
                s.execute("SELECT count(*) FROM hot");
            }
            // COPY FREEZE into a table created in the same transaction: MULTI_INSERT with
            // XLH_INSERT_ALL_FROZEN_SET (the page is all-visible at once).
            c.setAutoCommit(false);
            s.execute("CREATE TABLE f (id int, pad text)");
            ((PGConnection) c.unwrap(PGConnection.class)).getCopyAPI()
                    .copyIn("COPY f FROM STDIN WITH (FREEZE)", new StringReader(rows.toString()));
            c.commit();
            c.setAutoCommit(true);
            // An update that moves a row to another partition deletes it with IS_PARTITION_MOVE.
            s.execute("CREATE TABLE pt (id int, r int) PARTITION BY RANGE (r)");
            s.execute("CREATE TABLE pt0 PARTITION OF pt FOR VALUES FROM (0) TO (10)");
            s.execute("CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (10) TO (100)");
            s.execute("INSERT INTO pt SELECT g, g % 10 FROM generate_series(1, 100) g");
            s.execute("UPDATE pt SET r = r + 10 WHERE id % 4 = 0");
            // VACUUM: prune/freeze scan, cleanup (dead to unused), VISIBLE; in-place pg_class updates.
            s.execute("VACUUM t");
            s.execute("VACUUM c");
            s.execute("VACUUM hot");
            s.execute("UPDATE c SET pad = 'again' WHERE id % 13 = 0"); // clears all-visible
            s.execute("VACUUM FREEZE c");
            s.execute("VACUUM FREEZE t");
            s.execute("VACUUM FREEZE p");
            // A table without indexes: VACUUM marks dead items unused at once.
            s.execute("DELETE FROM p WHERE id % 3 = 0");
            s.execute("VACUUM p");
            s.execute("ANALYZE");
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
