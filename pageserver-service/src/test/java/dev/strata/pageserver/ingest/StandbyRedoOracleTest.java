package dev.strata.pageserver.ingest;

import dev.strata.pageserver.redo.page.PageMask;
import static dev.strata.pageserver.ingest.StockStandby.connect;
import static dev.strata.pageserver.ingest.StockStandby.copyDataDir;
import static dev.strata.pageserver.ingest.StockStandby.pauseReplayAt;
import static dev.strata.pageserver.ingest.StockStandby.scalar;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.datadir.BlockCount;
import dev.strata.pageserver.datadir.RelDirectory;
import dev.strata.pageserver.initdb.InitdbImport;
import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.redo.PageserverRedo;
import dev.strata.pageserver.testing.WalOracle;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pageserver.timeline.StorageConfig;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.replication.ReplicationClient;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.copy.CopyManager;
import org.postgresql.core.BaseConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads with Java redo against a stock PG 17 hot standby. The primary (data checksums on) runs
 * with heap, heap2, btree, sequence, BRIN, generic WAL, hash, GiST, GIN and SP-GiST OUT of
 * {@code wal_consistency_checking} (the compute's default: an empty list), so their records carry no image unless they are a real full-page write:
 * ingest stores them as records ({@code PgRecordPayload}) and every read replays them with
 * {@code PageserverRedo}. The timeline imports the primary's stopped data directory, so every
 * relation of the {@code postgres} database and every shared catalog is compared, catalogs
 * included (their updates are heap and btree records too).
 *
 * <p>A seeded random workload reaches inserts (single, COPY multi-insert, ON CONFLICT), HOT and
 * non-HOT updates, deletes, row locks, prune on access, VACUUM (prune, freeze, visibility map,
 * btree vacuum and page deletion), btree splits at several levels, sequences, a BRIN and a
 * contrib/bloom (generic WAL) index on one table (summarize, desummarize, summaries widened in
 * place and moved, bloom inserts and VACUUM, from a second random stream so the first one's
 * steps stay as they were), two hash indexes (one splitting as its table grows, one with long
 * overflow chains on an expression of few values, squeezed by VACUUM), two GiST indexes on
 * points made of expressions (inserts, splits, VACUUM), two GIN indexes on expressions (int[]
 * without a pending list, tsvector with a small one), and CHECKPOINTs
 * in between (so real full-page writes mix with records). The standby is paused at three LSNs;
 * at each, every page of every compared fork (main, and the VM of tables) must equal ours after
 * {@link PageMask}, and every non-zero page of ours must carry a valid checksum. At the last
 * pause the store is also flushed to layer files, compacted (image layers made through redo),
 * closed and reopened, and compared again at the same LSN. Chains are cut at 16 records (a page
 * replayed at ingest and stored as an image), so both that and replay on read are compared.
 */
class StandbyRedoOracleTest {

    private static final Logger log = LoggerFactory.getLogger(StandbyRedoOracleTest.class);
    /** The compute's default: the PG 17 managers that have an rm_mask, minus the ten replayed in Java (all of them). */
    static final String WCC_WITHOUT_JAVA_REDO = "";
    private static final int SPC = 1663;
    private static final int GLOBAL = 1664;
    private final PageserverRedo redo = new PageserverRedo();

    private PostgresServer primary;
    private PostgresServer standby;
    private LayerStore store;
    private final Map<String, Integer> counts = new TreeMap<>();

    @Test
    @Timeout(value = 85, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void pagesReplayedInJavaMatchAStockStandbyBeforeAndAfterARestart(@TempDir Path dir) throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        Map<String, String> settings = Map.of("wal_level", "replica", "wal_consistency_checking",
                WCC_WITHOUT_JAVA_REDO, "full_page_writes", "on", "autovacuum", "off", "wal_keep_size", "1GB",
                "checkpoint_timeout", "1h", "max_wal_size", "4GB");
        try (PostgresServer p = PostgresServer.builder().initdbOption("--data-checksums").settings(settings).start()) {
            primary = p;
            try (Connection c = connect(primary, "postgres"); Statement s = c.createStatement()) {
                s.execute("CREATE EXTENSION pageinspect");
                s.execute("CREATE EXTENSION bloom");
            }
            primary.stop();
            Path standbyData = dir.resolve("standby");
            copyDataDir(primary.dataDir(), standbyData);
            Files.writeString(standbyData.resolve("standby.signal"), "");
            InitdbImport.Inspected inspected = InitdbImport.inspect(primary.dataDir());
            assertThat(inspected.dataChecksums()).isTrue();
            Path timelineDir = dir.resolve("timeline");
            store = LayerStore.create(timelineDir, TimelineId.random(), inspected.checkpointLsn(), StorageConfig.DEFAULTS);
            InitdbImport.importInto(primary.dataDir(), inspected, store);
            primary.start();
            Map<String, String> standbySettings = Map.of("hot_standby", "on", "max_standby_streaming_delay", "-1",
                    "primary_conninfo", "host=" + primary.host() + " port=" + primary.port() + " user=" + primary.user()
                            + " password=" + primary.password() + " application_name=redo_oracle_standby");
            try (PostgresServer sb = PostgresServer.builder().dataDir(standbyData).user(primary.user())
                    .password(primary.password()).settings(standbySettings).start()) {
                standby = sb;
                WalIngest ingest = new WalIngest(store, RmgrRegistry.defaults(), true, TimelineBase.IMPORTED,
                        inspected.checkpointLsn());
                // Below the default (128), so that both paths are taken often: chains replayed on
                // read, and chains cut by storing the replayed page.
                ingest.maxRecordChain(16);
                ReplicationClient.Options source = new ReplicationClient.Options(primary.host(), primary.port(),
                        primary.user(), primary.password(), "pageserver-redo-oracle", Duration.ofSeconds(5));
                Lsn last;
                try (WalReceiver rx = new WalReceiver(ingest, inspected.endLsn(),
                        inspected.checkpointLsn(), List.of(source), group).start();
                     Connection c = connect(primary, "postgres")) {
                    setup(c);
                    // Fixed by default; -Dstrata.redo.oracle.seed / .steps for longer soak runs by hand.
                    long seed = Long.getLong("strata.redo.oracle.seed", 20261206L);
                    int steps = Integer.getInteger("strata.redo.oracle.steps", 150);
                    log.info("workload seed {}, {} steps per third", seed, steps);
                    Random rnd = new Random(seed);
                    Random brinRnd = new Random(seed + 1);
                    workload(c, rnd, brinRnd, steps);
                    pauseAndCompare("after the first third", c, rx, false);
                    workload(c, rnd, brinRnd, steps);
                    pauseAndCompare("after the second third", c, rx, false);
                    workload(c, rnd, brinRnd, steps);
                    last = pauseAndCompare("at the end", c, rx, true);
                    assertThat(rx.failure()).isNull();
                }
                Map<String, Long> stored = ingest.storedRecordCounts();
                StringBuilder table = new StringBuilder();
                stored.forEach((k, v) -> table.append(String.format("%-32s %8d%n", k, v)));
                log.info("blocks stored as records for Java redo, per record type:\n{}", table);
                for (String type : List.of("Heap/INSERT", "Heap/INSERT+INIT", "Heap/UPDATE", "Heap/HOT_UPDATE",
                        "Heap/DELETE", "Heap/LOCK", "Heap/HEAP_CONFIRM", "Heap/INPLACE", "Heap2/MULTI_INSERT",
                        "Heap2/PRUNE_ON_ACCESS", "Heap2/PRUNE_VACUUM_SCAN", "Heap2/PRUNE_VACUUM_CLEANUP",
                        "Heap2/VISIBLE", "Btree/INSERT_LEAF", "Btree/INSERT_UPPER", "Btree/SPLIT_R",
                        "Btree/SPLIT_L", "Btree/VACUUM", "Btree/NEWROOT", "Btree/MARK_PAGE_HALFDEAD",
                        "Btree/UNLINK_PAGE", "Sequence/LOG", "BRIN/INSERT", "BRIN/SAMEPAGE_UPDATE",
                        "Generic/Generic", "Hash/INSERT", "Hash/ADD_OVFL_PAGE", "Hash/SPLIT_ALLOCATE_PAGE",
                        "Hash/DELETE", "Gist/PAGE_UPDATE", "Gist/PAGE_SPLIT", "Gin/INSERT", "Gin/UPDATE_META_PAGE",
                        "Gin/INSERT_LISTPAGE", "Gin/DELETE_LISTPAGE", "SPGist/ADD_LEAF", "materialized (chain of 16)")) {
                    assertThat(stored.getOrDefault(type, 0L)).as("blocks of " + type + " stored as records")
                            .isPositive();
                }
                // Layer files: flush, compact (image layers through redo), close, reopen, compare again.
                store.freezeAndFlush();
                store.compact(redo);
                store.close();
                store = LayerStore.open(timelineDir, StorageConfig.DEFAULTS);
                try (Connection sc = connect(standby, "postgres"); Statement s = sc.createStatement()) {
                    assertThat(Lsn.parse(scalar(s, "SELECT pg_last_wal_replay_lsn()"))).isEqualTo(last);
                    compareAll("after flush, compaction and a restart", last);
                    s.execute("SELECT pg_wal_replay_resume()");
                }
            }
        } finally {
            if (store != null) {
                store.close();
            }
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    // ------------------------------------------------------------------ workload

    private static void setup(Connection c) throws Exception {
        try (Statement s = c.createStatement()) {
            s.execute("CREATE TABLE acc (id int PRIMARY KEY, k int, v int, pad text) WITH (fillfactor = 80)");
            s.execute("CREATE INDEX acc_k ON acc (k)");
            s.execute("INSERT INTO acc SELECT g, g % 97, 0, repeat('a', 40) FROM generate_series(1, 6000) g");
            // GIN on the table most steps change: an int[] index without a pending list (entry
            // inserts, posting trees for the keys of many rows, VACUUM) and a tsvector index with
            // a small one (pending list pages, cleanups into the tree).
            s.execute("CREATE INDEX acc_gin ON acc USING gin ((ARRAY[k, id % 5])) WITH (fastupdate = off)");
            s.execute("CREATE INDEX acc_tsv ON acc USING gin (to_tsvector('simple', pad || ' w' || (id % 300)))"
                    + " WITH (gin_pending_list_limit = 64)");
            // Wide random keys: splits left and right, at leaf and inner levels.
            s.execute("CREATE TABLE wide (id serial PRIMARY KEY, key text, note text)");
            s.execute("CREATE INDEX wide_key ON wide (key)");
            // Hash indexes: one that splits from 2 buckets as rows come (fill factor 10), one on
            // a handful of values, with long overflow chains that VACUUM squeezes.
            s.execute("CREATE INDEX wide_key_hash ON wide USING hash (key) WITH (fillfactor = 10)");
            s.execute("CREATE INDEX wide_key_spg ON wide USING spgist (key)");
            s.execute("INSERT INTO wide (key, note) SELECT repeat(md5(g::text), 6), 'n' FROM generate_series(1, 1500) g");
            s.execute("CREATE TABLE plain (a int, b text)");
            s.execute("CREATE INDEX plain_len ON plain USING hash (length(b))");
            s.execute("CREATE INDEX plain_gist ON plain USING gist (point(a, length(b)))");
            // SP-GiST: a quad tree on points and a radix tree on the wide text keys.
            s.execute("CREATE INDEX plain_spg ON plain USING spgist (point(a, length(b)))");
            s.execute("CREATE TABLE up (id int PRIMARY KEY, n int)");
            s.execute("CREATE SEQUENCE s1");
            s.execute("CREATE SEQUENCE s2 INCREMENT 7 CACHE 3");
            s.execute("VACUUM acc");
            s.execute("CREATE TABLE br (id int, t text, pad text)");
            s.execute("CREATE INDEX br_brin ON br USING brin (id, t) WITH (pages_per_range = 2)");
            s.execute("CREATE INDEX br_bloom ON br USING bloom (id, t) WITH (length = 64)");
            s.execute("CREATE INDEX br_gist ON br USING gist (point(id, length(t)))");
            s.execute("INSERT INTO br SELECT g, 'b' || g, repeat('p', 100) FROM generate_series(1, 2000) g");
            s.execute("SELECT brin_summarize_new_values('br_brin')");
        }
    }

    /** BRIN and bloom (generic WAL) on table br. */
    private static void brinStep(Statement s, Random rnd) throws Exception {
        switch (rnd.nextInt(6)) {
            case 0, 1 -> s.execute("INSERT INTO br SELECT " + (rnd.nextInt(6000) - 1000) + " + g, repeat(chr("
                    + (97 + rnd.nextInt(26)) + "), " + (1 + rnd.nextInt(rnd.nextInt(4) == 0 ? 300 : 8))
                    + "), 'n' FROM generate_series(1, " + (1 + rnd.nextInt(30)) + ") g");
            case 2 -> s.execute("SELECT brin_summarize_new_values('br_brin')");
            case 3 -> s.execute("SELECT brin_desummarize_range('br_brin', " + rnd.nextInt(40) + ")");
            case 4 -> s.execute("DELETE FROM br WHERE id % 17 = " + rnd.nextInt(17));
            default -> s.execute("VACUUM br");
        }
    }

    private void workload(Connection c, Random rnd, Random brinRnd, int steps) throws Exception {
        try (Statement s = c.createStatement()) {
            for (int i = 0; i < steps; i++) {
                if (brinRnd.nextInt(3) == 0) {
                    brinStep(s, brinRnd);
                }
                int op = rnd.nextInt(20);
                int id = 1 + rnd.nextInt(7000);
                switch (op) {
                    case 0, 1 -> s.execute("INSERT INTO acc VALUES (" + (10000 + rnd.nextInt(1_000_000))
                            + ", " + rnd.nextInt(97) + ", 1, 'i') ON CONFLICT (id) DO UPDATE SET v = acc.v + 1");
                    case 2, 3, 4 -> s.execute("UPDATE acc SET v = v + 1 WHERE id = " + id); // HOT
                    case 5 -> s.execute("UPDATE acc SET k = " + rnd.nextInt(97) + ", pad = repeat('u', "
                            + rnd.nextInt(60) + ") WHERE id BETWEEN " + id + " AND " + (id + rnd.nextInt(20)));
                    case 6 -> s.execute("DELETE FROM acc WHERE id BETWEEN " + id + " AND " + (id + rnd.nextInt(30)));
                    case 7 -> s.execute("INSERT INTO wide (key, note) SELECT md5(random()::text || g) || repeat('k', "
                            + rnd.nextInt(200) + "), 'w' FROM generate_series(1, " + (1 + rnd.nextInt(60)) + ") g");
                    case 8 -> {
                        String from = Integer.toHexString(rnd.nextInt(16));
                        s.execute("DELETE FROM wide WHERE key >= '" + from + "' AND key < '" + from + "4'");
                    }
                    case 9 -> s.execute("SELECT nextval('s1'), nextval('s2')");
                    case 10 -> s.execute("SELECT setval('s1', " + (1 + rnd.nextInt(1000)) + ")");
                    case 11 -> copy(c, rnd);
                    case 12 -> s.execute(switch (rnd.nextInt(4)) {
                        case 0 -> "VACUUM acc";
                        case 1 -> "VACUUM (FREEZE) acc";
                        case 2 -> "VACUUM wide";
                        default -> "VACUUM (FREEZE) plain";
                    });
                    case 13 -> {
                        s.execute("BEGIN");
                        s.execute("SELECT * FROM acc WHERE id BETWEEN " + id + " AND " + (id + 5) + " FOR "
                                + (rnd.nextBoolean() ? "UPDATE" : "KEY SHARE"));
                        s.execute(rnd.nextBoolean() ? "COMMIT" : "ROLLBACK");
                    }
                    case 14 -> {
                        // Prune on access: many HOT versions of the same rows, then a read of the page.
                        for (int j = 0; j < 8; j++) {
                            s.execute("UPDATE acc SET v = v + 1 WHERE id BETWEEN " + id + " AND " + (id + 3));
                        }
                        s.execute("SELECT count(*) FROM acc WHERE id BETWEEN " + id + " AND " + (id + 40));
                    }
                    case 15 -> s.execute("INSERT INTO up SELECT g, 0 FROM generate_series(" + id + ", " + (id + 20)
                            + ") g ON CONFLICT (id) DO UPDATE SET n = up.n + 1");
                    case 16 -> s.execute("UPDATE plain SET b = b || 'x' WHERE a % 11 = " + rnd.nextInt(11));
                    case 17 -> {
                        if (rnd.nextInt(4) == 0) {
                            s.execute("CHECKPOINT");
                        } else {
                            s.execute("DELETE FROM plain WHERE a % 13 = " + rnd.nextInt(13));
                        }
                    }
                    case 18 -> s.execute("SELECT count(*) FROM wide WHERE key > '" + Integer.toHexString(rnd.nextInt(16))
                            + "'");
                    default -> s.execute("ANALYZE acc");
                }
            }
            // Deleting most of the index empties whole leaves: VACUUM deletes them (half-dead, unlink).
            s.execute("DELETE FROM wide WHERE key < 'c'");
            s.execute("VACUUM wide");
        }
    }

    private static void copy(Connection c, Random rnd) throws Exception {
        StringBuilder rows = new StringBuilder();
        int n = 1 + rnd.nextInt(400);
        for (int i = 0; i < n; i++) {
            rows.append(rnd.nextInt(100_000)).append('\t').append("c").append(rnd.nextInt(1000)).append('\n');
        }
        new CopyManager(c.unwrap(BaseConnection.class)).copyIn("COPY plain FROM STDIN", new StringReader(rows.toString()));
    }

    // ------------------------------------------------------------------ comparison

    /** Pauses the standby at the primary's current end of WAL, waits for ingest, compares; leaves it paused if asked. */
    private Lsn pauseAndCompare(String point, Connection primaryConn, WalReceiver rx, boolean stayPaused)
            throws Exception {
        Lsn target;
        try (Statement s = primaryConn.createStatement()) {
            target = WalOracle.endOfWork(s);
        }
        try (Connection sc = connect(standby, "postgres"); Statement s = sc.createStatement()) {
            Lsn at = pauseReplayAt(s, target, Duration.ofSeconds(40));
            rx.awaitLsn(at, Duration.ofSeconds(40));
            compareAll(point, at);
            if (!stayPaused) {
                s.execute("SELECT pg_wal_replay_resume()");
            }
            return at;
        }
    }

    private void compareAll(String point, Lsn at) throws Exception {
        List<String> mismatches = new ArrayList<>();
        Map<String, Integer> before = new HashMap<>(counts);
        long dbOid;
        try (Connection sc = connect(standby, "postgres"); Statement s = sc.createStatement()) {
            dbOid = Long.parseLong(scalar(s, "SELECT oid FROM pg_database WHERE datname = 'postgres'"));
        }
        compareRelations(SPC, dbOid, "c.reltablespace = 0", at, mismatches);
        compareRelations(GLOBAL, 0, "c.reltablespace = " + GLOBAL, at, mismatches);
        Map<String, Integer> delta = new TreeMap<>();
        counts.forEach((k, v) -> delta.put(k, v - before.getOrDefault(k, 0)));
        log.info("redo oracle {} at {}: compared {}; {} mismatches", point, at, delta, mismatches.size());
        assertThat(mismatches).as("mismatches " + point + " at " + at).isEmpty();
        assertThat(delta.getOrDefault("pages", 0)).as("pages compared " + point).isGreaterThan(800);
        assertThat(delta.getOrDefault("pages of relations with Java redo", 0)).isGreaterThan(500);
    }

    private void compareRelations(int spc, long dbOid, String tablespaceFilter, Lsn at, List<String> mismatches)
            throws Exception {
        RelDirectory dir = RelDirectory.decode(ours(Key.relationDirectory(spc, (int) dbOid), at));
        try (Connection c = connect(standby, "postgres"); Statement s = c.createStatement()) {
            List<Object[]> rels = new ArrayList<>();
            try (ResultSet rs = s.executeQuery("SELECT c.oid::regclass::text, c.relkind::text, coalesce(am.amname, ''), "
                    + "pg_relation_filenode(c.oid) FROM pg_class c LEFT JOIN pg_am am ON am.oid = c.relam "
                    + "WHERE c.relkind IN ('r', 'i', 't', 'm', 'S') AND c.relpersistence = 'p' AND " + tablespaceFilter
                    + " AND pg_relation_filenode(c.oid) IS NOT NULL")) {
                while (rs.next()) {
                    rels.add(new Object[] {rs.getString(1), rs.getString(2), rs.getString(3), rs.getLong(4)});
                }
            }
            for (Object[] r : rels) {
                PageMask.Kind kind = PageMask.Kind.of((String) r[1], (String) r[2]);
                long relNumber = (Long) r[3];
                compareFork(c, spc, dbOid, (String) r[0], relNumber, 0, kind, dir, at, mismatches);
                if (kind == PageMask.Kind.HEAP) {
                    compareFork(c, spc, dbOid, (String) r[0], relNumber, 2, PageMask.Kind.VISIBILITY_MAP, dir, at,
                            mismatches);
                }
                counts.merge("relations", 1, Integer::sum);
            }
        }
    }


    private void compareFork(Connection c, int spc, long dbOid, String name, long relNumber, int fork,
                             PageMask.Kind kind, RelDirectory dir, Lsn at, List<String> mismatches) throws Exception {
        String forkName = fork == 0 ? "main" : "vm";
        long blocks;
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_relation_size(?::regclass, ?) / 8192")) {
            ps.setString(1, name);
            ps.setString(2, forkName);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                blocks = rs.getLong(1);
            }
        }
        Key sizeKey = Key.relationSize(spc, (int) dbOid, (int) relNumber, fork);
        long oursSize = dir.contains((int) relNumber, fork) ? BlockCount.decode(ours(sizeKey, at)) : -1;
        String what = name + " (" + relNumber + ") " + forkName;
        if (oursSize != blocks && !(oursSize == -1 && blocks == 0)) {
            mismatches.add(what + ": size " + oursSize + ", standby " + blocks);
            return;
        }
        if (blocks == 0) {
            return;
        }
        boolean javaRedo = kind == PageMask.Kind.HEAP || kind == PageMask.Kind.BTREE || kind == PageMask.Kind.SEQUENCE
                || kind == PageMask.Kind.VISIBILITY_MAP || kind == PageMask.Kind.BRIN || kind == PageMask.Kind.GENERIC
                || kind == PageMask.Kind.HASH || kind == PageMask.Kind.GIST || kind == PageMask.Kind.GIN
                || kind == PageMask.Kind.SPGIST;
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT b, get_raw_page(?, ?, b::int) FROM generate_series(0, ? - 1) b ORDER BY b")) {
            ps.setString(1, name);
            ps.setString(2, forkName);
            ps.setLong(3, blocks);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long blk = rs.getLong(1);
                    byte[] theirs = rs.getBytes(2);
                    byte[] mine;
                    try {
                        mine = ours(Key.relationBlock(spc, (int) dbOid, (int) relNumber, fork, (int) blk), at);
                    } catch (RuntimeException e) {
                        mismatches.add(what + " blk " + blk + ": our read failed: " + e);
                        continue;
                    }
                    if (mine == null) {
                        mine = new byte[8192];
                    }
                    int diff = PageMask.firstDifference(PageMask.mask(theirs, kind), PageMask.mask(mine, kind));
                    if (diff >= 0) {
                        mismatches.add(what + " blk " + blk + " (" + kind + "): differs at byte " + diff);
                    }
                    if (!isZero(mine)) {
                        int checksum = (mine[8] & 0xFF) | (mine[9] & 0xFF) << 8;
                        if (checksum != PageChecksum.compute(mine, blk)) {
                            mismatches.add(what + " blk " + blk + ": our page's checksum " + checksum + " is wrong");
                        }
                    }
                    counts.merge("pages", 1, Integer::sum);
                    if (javaRedo) {
                        counts.merge("pages of relations with Java redo", 1, Integer::sum);
                    }
                }
            }
        }
    }

    private byte[] ours(Key k, Lsn at) {
        return store.getValue(k, at, redo);
    }

    // ------------------------------------------------------------------ helpers

    private static boolean isZero(byte[] page) {
        for (byte b : page) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }
}
