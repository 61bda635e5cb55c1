package dev.strata.pageserver.basebackup;

import static dev.strata.pageserver.timeline.PrimaryFixtures.awaitDiskConsistent;
import static dev.strata.pageserver.timeline.PrimaryFixtures.computeAt;
import static dev.strata.pageserver.timeline.PrimaryFixtures.execute;
import static dev.strata.pageserver.timeline.PrimaryFixtures.insertLsn;
import static dev.strata.pageserver.timeline.PrimaryFixtures.query;
import static dev.strata.pageserver.timeline.PrimaryFixtures.source;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.pageservice.PageRequest;
import dev.strata.pageserver.pageservice.PageService;
import dev.strata.pageserver.timeline.StorageConfig;
import dev.strata.pageserver.timeline.Timeline;
import dev.strata.pageserver.timeline.TimelineManager;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The oracle for incremental basebackups, on stock PostgreSQL 17 with data checksums: an
 * incremental archive applied over a directory at the base gives, file for file, byte for byte,
 * the full basebackup of its target.
 *
 * <p>History: root X, a primary writes tables (kept unchanged, updated, to be truncated, to be
 * dropped, an unlogged one), the timeline flushes (a checkpoint), then a table with an index; T.
 * Branch Y at T. On X after T: rows deleted and their index entries marked dead by an index scan
 * (LP_DEAD: a hint, no record), updates and inserts, a relation truncated by VACUUM and extended
 * again, a table dropped, one created, a flush, more updates; H. On Y its own primary inserts and
 * creates a table; E. Small layers and a low L0 compaction threshold: the history is in frozen,
 * L0 and L1 layers and in memory. Then Y@E over X@H (a restore), X@H over X@T and X@T over X@H
 * (the same timeline forwards and backwards), each against the full basebackup; and Y@E over the
 * directory X's primary itself left at its clean shutdown, with the hint bits it set after T:
 * PostgreSQL started there sees exactly Y's rows, index scans included.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 5, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class IncrementalBasebackupTest {

    private static final String PASSWORD = "incremental-test-pw";
    private static final List<String> TABLES = List.of("upd", "shrink", "doomed", "kept", "lp", "fresh", "on_y");
    /** Forces the index (not a bitmap, not index-only) for {@link #lpIndexCount}. */
    private static final List<String> INDEX_SCAN = List.of("SET enable_seqscan = off", "SET enable_bitmapscan = off",
            "SET enable_indexonlyscan = off");

    @TempDir
    static Path tmp;

    private EventLoopGroup group;
    private TimelineManager manager;
    private PageService service;
    private TimelineId xid;
    private TimelineId yid;
    private Lsn t;
    private Lsn h;
    private Lsn e;
    /** The directory X's primary left at its clean shutdown after H. */
    private Path computeX;
    private Map<String, String> atE;
    private long lpIndexCountAtE;
    private ChangedBlocks.Fork shrink;
    private ChangedBlocks.Fork lpPkey;

    @BeforeAll
    void history() throws Exception {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        StorageConfig storage = StorageConfig.DEFAULTS.withCheckpointDistanceBytes(512 << 10).withCompactionThreshold(3)
                .withCompactionTargetBytes(256 << 10);
        manager = new TimelineManager(tmp.resolve("ps"), storage, new Timeline.Options(Duration.ofSeconds(1), 4,
                Duration.ofSeconds(5), "pageserver"), group);
        service = new PageService(manager);
        xid = TimelineId.random();
        Timeline x = manager.create(new TimelineManager.CreateRequest(xid, null, true, true, List.of(), PASSWORD));
        computeX = tmp.resolve("compute-x");
        try (PostgresServer a = computeAt(x, x.lastRecordLsn(), computeX, PASSWORD)) {
            x.setWalSources(List.of(source(a)));
            execute(a, "CREATE TABLE upd (id int PRIMARY KEY, v text)");
            execute(a, "INSERT INTO upd SELECT g, repeat('u', 50) FROM generate_series(1, 5000) g");
            execute(a, "CREATE TABLE shrink (id int, pad text)");
            execute(a, "INSERT INTO shrink SELECT g, repeat('s', 200) FROM generate_series(1, 3000) g");
            execute(a, "CREATE TABLE doomed (id int)");
            execute(a, "INSERT INTO doomed SELECT generate_series(1, 1000)");
            execute(a, "CREATE TABLE kept (id int, pad text)");
            execute(a, "INSERT INTO kept SELECT g, repeat('k', 100) FROM generate_series(1, 3000) g");
            execute(a, "CREATE UNLOGGED TABLE u (id int)");
            execute(a, "INSERT INTO u SELECT generate_series(1, 100)");
            awaitDiskConsistent(x, insertLsn(a), a, Duration.ofSeconds(60)); // with CHECKPOINTs
            // After the last checkpoint before T: a hint on these pages later writes no page image.
            execute(a, "CREATE TABLE lp (id int PRIMARY KEY, pad text)");
            execute(a, "INSERT INTO lp SELECT g, repeat('l', 20) FROM generate_series(1, 2000) g");
            Lsn point = insertLsn(a);
            x.awaitLsn(point, Duration.ofSeconds(30));
            yid = TimelineId.random();
            Timeline y = manager.branch(yid, xid, point, List.of());
            t = y.ancestor().orElseThrow().lsn();
            int db = Integer.parseInt(query(a, "SELECT oid FROM pg_database WHERE datname = 'postgres'"));
            shrink = new ChangedBlocks.Fork(1663, db, Integer.parseInt(query(a, "SELECT pg_relation_filenode('shrink')")), 0);
            lpPkey = new ChangedBlocks.Fork(1663, db, Integer.parseInt(query(a, "SELECT pg_relation_filenode('lp_pkey')")), 0);

            execute(a, "DELETE FROM lp WHERE id <= 500");
            assertThat(run(a, INDEX_SCAN, "SELECT count(*) FROM lp WHERE id <= 500")).isEqualTo("0");
            assertThat(run(a, INDEX_SCAN, "SELECT count(*) FROM lp WHERE id <= 500")).isEqualTo("0");
            execute(a, "CREATE EXTENSION pageinspect");
            assertThat(Long.parseLong(query(a, "SELECT sum((SELECT count(*) FROM bt_page_items('lp_pkey', b) WHERE dead))"
                    + " FROM generate_series(1, pg_relation_size('lp_pkey') / 8192 - 1) b")))
                    .as("index entries X's primary marked dead after T (LP_DEAD)").isGreaterThan(0);
            execute(a, "UPDATE upd SET v = 'changed' WHERE id % 10 = 0");
            execute(a, "INSERT INTO upd SELECT g, 'new' FROM generate_series(5001, 6000) g");
            long before = Long.parseLong(query(a, "SELECT pg_relation_size('shrink') / 8192"));
            execute(a, "DELETE FROM shrink WHERE id > 100");
            execute(a, "VACUUM shrink");
            assertThat(Long.parseLong(query(a, "SELECT pg_relation_size('shrink') / 8192"))).as("VACUUM truncated")
                    .isLessThan(before / 4);
            execute(a, "INSERT INTO shrink SELECT g, repeat('n', 200) FROM generate_series(1, 1500) g");
            execute(a, "DROP TABLE doomed");
            execute(a, "CREATE TABLE fresh AS SELECT generate_series(1, 1000) AS g");
            awaitDiskConsistent(x, insertLsn(a), a, Duration.ofSeconds(60));
            execute(a, "UPDATE upd SET v = 'late' WHERE id % 100 = 1");
            x.awaitLsn(insertLsn(a), Duration.ofSeconds(30));
            x.setWalSources(List.of()); // before the primary stops: its walsender would wait for us
            h = x.lastRecordLsn();
            a.stop();
        }
        assertThat(x.store().level0Compactions()).as("L0 compactions on X").isGreaterThan(0);

        Timeline y = manager.get(yid);
        try (PostgresServer b = computeAt(y, t, tmp.resolve("compute-y"), PASSWORD)) {
            y.setWalSources(List.of(source(b)));
            execute(b, "INSERT INTO upd SELECT g, 'on y' FROM generate_series(7001, 7200) g");
            execute(b, "CREATE TABLE on_y AS SELECT generate_series(1, 100) AS g");
            y.awaitLsn(insertLsn(b), Duration.ofSeconds(30));
            atE = fingerprints(b);
            lpIndexCountAtE = Long.parseLong(run(b, INDEX_SCAN, "SELECT count(*) FROM lp WHERE id <= 500"));
            y.setWalSources(List.of());
            e = y.lastRecordLsn();
        }
        assertThat(lpIndexCountAtE).isEqualTo(500);
        assertThat(atE.get("doomed")).isNotEqualTo("missing");
        assertThat(atE.get("fresh")).isEqualTo("missing");
    }

    @AfterAll
    void close() {
        if (manager != null) {
            manager.close();
        }
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void restoreOfYOverXAtHIsTheFullBasebackupOfY() throws Exception {
        Path base = unpack(basebackup(xid, Lsn.INVALID, null), "x-h");
        Path full = unpack(basebackup(yid, Lsn.INVALID, null), "y-e");
        Path incremental = basebackup(yid, Lsn.INVALID, new BasebackupBase(xid, h));
        Path applied = tmp.resolve("y-e-over-x-h");
        IncrementalArchives.Applied a = IncrementalArchives.apply(incremental, base, applied);

        assertThat(a.base()).isEqualTo(new BasebackupBase(xid, h));
        assertThat(IncrementalArchives.differences(full, applied)).isEmpty();
        long fullBlocks = IncrementalArchives.apply(basebackup(yid, Lsn.INVALID, null), base, tmp.resolve("unused"))
                .wholeFileBlocks();
        assertThat(a.pages() + a.wholeFileBlocks()).as("relation blocks sent").isLessThan(fullBlocks / 2);

        IncrementalPlanner.Plan plan = IncrementalPlanner.plan(manager.get(yid), e, new BasebackupBase(xid, h),
                manager::get, Duration.ofSeconds(5));
        ChangedBlocks changed = plan.incremental().changed();
        // shrink was truncated and extended again after T: everything from its smallest size on is sent.
        assertThat(changed.minSizeSeen(shrink)).isLessThan(plan.incremental().baseSize(shrink));
        // lp_pkey has no record after T, only hints; its pages written between the checkpoint before
        // T and T are sent: X's primary may have set hints on them that Y must not see.
        assertThat(changed.changed(lpPkey, 1)).isTrue();
    }

    @Test
    void xOverAnEarlierXIsTheFullBasebackupOfX() throws Exception {
        Path base = unpack(basebackup(xid, t, null), "x-t");
        Path full = unpack(basebackup(xid, h, null), "x-h-forwards");
        Path applied = tmp.resolve("x-h-over-x-t");
        IncrementalArchives.Applied a = IncrementalArchives.apply(basebackup(xid, h, new BasebackupBase(xid, t)), base,
                applied);
        assertThat(a.base()).isEqualTo(new BasebackupBase(xid, t));
        assertThat(IncrementalArchives.differences(full, applied)).isEmpty();
    }

    @Test
    void xOverALaterXRewindsToTheEarlierPoint() throws Exception {
        Path base = unpack(basebackup(xid, h, null), "x-h-backwards");
        Path full = unpack(basebackup(xid, t, null), "x-t-backwards");
        Path applied = tmp.resolve("x-t-over-x-h");
        IncrementalArchives.Applied a = IncrementalArchives.apply(basebackup(xid, t, new BasebackupBase(xid, h)), base,
                applied);
        assertThat(a.base()).isEqualTo(new BasebackupBase(xid, h));
        assertThat(IncrementalArchives.differences(full, applied)).isEmpty();
    }

    @Test
    void restoreOverThePrimarysOwnDirectoryIgnoresTheHintsItSetAfterT() throws Exception {
        Path applied = tmp.resolve("y-e-over-compute-x");
        IncrementalArchives.Applied a = IncrementalArchives.apply(basebackup(yid, Lsn.INVALID,
                new BasebackupBase(xid, h)), computeX, applied);
        assertThat(a.base()).isEqualTo(new BasebackupBase(xid, h));
        BasebackupFixtures.addComputeConfig(applied);
        try (PostgresServer pg = PostgresServer.builder().dataDir(applied).password(PASSWORD)
                .setting("wal_level", "replica").setting("autovacuum", "off").start()) {
            assertThat(BasebackupFixtures.log(pg)).contains("database system was shut down at")
                    .doesNotContain("redo starts at");
            assertThat(fingerprints(pg)).isEqualTo(atE);
            assertThat(Long.parseLong(run(pg, INDEX_SCAN, "SELECT count(*) FROM lp WHERE id <= 500")))
                    .as("rows whose index entries X's primary marked dead after T").isEqualTo(lpIndexCountAtE);
            execute(pg, "CREATE EXTENSION amcheck");
            assertThat(query(pg, "SELECT count(*) FROM pg_class c, LATERAL verify_heapam(c.oid)"
                    + " WHERE c.relkind IN ('r', 't', 'm') AND c.relpersistence = 'p'")).isEqualTo("0");
            assertThat(query(pg, "SELECT count(bt_index_check(c.oid, true)) FROM pg_class c JOIN pg_am am"
                    + " ON am.oid = c.relam WHERE c.relkind = 'i' AND am.amname = 'btree' AND c.relpersistence = 'p'"))
                    .isNotEqualTo("0");
            assertThat(query(pg, "SELECT count(*) FROM u")).as("unlogged: reset").isEqualTo("0");
        }
    }

    private Path basebackup(TimelineId tl, Lsn lsn, BasebackupBase base) throws Exception {
        Path tar = Files.createTempFile(tmp, "bb", ".tar");
        try (OutputStream out = Files.newOutputStream(tar)) {
            service.basebackup(new PageRequest.Basebackup(1, tl, lsn, 5000, base), out);
        }
        if (base != null) {
            assertThat(IncrementalArchives.names(tar).get(0)).as("incremental over %s", base)
                    .isEqualTo(IncrementalFormat.MARKER);
        }
        return tar;
    }

    private Path unpack(Path tar, String name) throws Exception {
        Path dir = tmp.resolve(name);
        BasebackupFixtures.untar(tar, dir);
        return dir;
    }

    /** An md5 of each table's rows in a fixed order; "missing" for a table that does not exist. */
    private static Map<String, String> fingerprints(PostgresServer pg) throws SQLException {
        Map<String, String> out = new LinkedHashMap<>();
        for (String table : TABLES) {
            boolean exists = query(pg, "SELECT to_regclass('" + table + "') IS NOT NULL").equals("t");
            out.put(table, exists ? query(pg, "SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, ','"
                    + " ORDER BY t::text), '')) FROM " + table + " t") : "missing");
        }
        return out;
    }

    /** The first column of the first row of {@code sql}, run after {@code settings} on one connection. */
    private static String run(PostgresServer pg, List<String> settings, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres")); Statement s = c.createStatement()) {
            for (String set : settings) {
                s.execute(set);
            }
            try (ResultSet r = s.executeQuery(sql)) {
                r.next();
                return r.getString(1);
            }
        }
    }
}
