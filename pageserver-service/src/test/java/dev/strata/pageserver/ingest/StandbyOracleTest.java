package dev.strata.pageserver.ingest;

import dev.strata.pageserver.redo.page.PageMask;
import static dev.strata.pageserver.ingest.StockStandby.connect;
import static dev.strata.pageserver.ingest.StockStandby.copyDataDir;
import static dev.strata.pageserver.ingest.StockStandby.pauseReplayAt;
import static dev.strata.pageserver.ingest.StockStandby.scalar;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.datadir.BlockCount;
import dev.strata.pageserver.datadir.DbDirectory;
import dev.strata.pageserver.datadir.NumberSet;
import dev.strata.pageserver.datadir.RelDirectory;
import dev.strata.pageserver.initdb.InitdbImport;
import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.SlruKind;
import dev.strata.pageserver.layer.Value;
import dev.strata.pageserver.redo.PageserverRedo;
import dev.strata.pageserver.testing.WalOracle;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pageserver.timeline.StorageConfig;
import dev.strata.pgcore.control.CheckPoint;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.replication.ReplicationClient;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.WalDecoder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ingest oracle against a stock PG17 hot standby. A primary with
 * wal_consistency_checking=all streams to a standby (a copy of its data directory) and, through
 * {@link WalReceiver}, to our ingest. At three points the standby's replay is paused at L =
 * pg_last_wal_replay_lsn(), and at L every block of every relation created after the timeline
 * start, in every database the standby has, must equal ours after {@link PageMask}; so must
 * fork sizes, the database and relation directories, each relmapper file of a new database,
 * the CLOG status of every xid on CLOG pages zeroed after the start (pg_xact_status), the
 * members of every multixact on offsets pages zeroed after the start
 * (pg_get_multixact_members), the prepared transactions and their state files, and the
 * CheckPoint counters must be ahead of everything the standby has.
 *
 * <p>The timeline is WAL_ONLY (no initdb import yet) and starts right after a checkpoint
 * record, mid-segment: the receiver starts there with that record as xl_prev (the path an
 * imported timeline takes), with the checkpoint record's values as the initial CheckPoint,
 * and its first WAL source is a dead port, so it must move on to the next.
 */
class StandbyOracleTest {

    private static final Logger log = LoggerFactory.getLogger(StandbyOracleTest.class);
    private static final int SEGMENT = 16 << 20;
    private static final int SPC = 1663;
    private static final int GLOBAL = 1664;
    private static final String[] MODES = {"keysh", "sh", "fornokeyupd", "forupd", "nokeyupd", "upd"};
    private final PageserverRedo redo = new PageserverRedo();

    private PostgresServer primary;
    private PostgresServer standby;
    private LayerStore store;
    private WalReceiver receiver;
    /** Relation file numbers of the postgres database that existed before the start. */
    private final Set<Long> preexisting = new HashSet<>();
    private final Set<Long> preexistingDbs = new HashSet<>();
    private final Map<String, Integer> counts = new HashMap<>();

    /** No import: what existed before the start is left out; the start is right after a CHECKPOINT record. */
    @Test
    @Timeout(value = 420, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void walOnlyTimelineMatchesAStockStandbyAtEveryPause(@TempDir Path dir) throws Exception {
        run(dir, false);
    }

    /**
     * The timeline imports the stopped primary's data directory ({@link InitdbImport}) and starts
     * after its shutdown checkpoint: then everything is compared, catalogs, shared catalogs,
     * template1, every CLOG page and every multixact included.
     */
    @Test
    @Timeout(value = 420, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void importedTimelineMatchesAStockStandbyEverywhere(@TempDir Path dir) throws Exception {
        run(dir, true);
    }

    private boolean imported;
    private InitdbImport.Inspected importedAs;

    private void run(Path dir, boolean importBase) throws Exception {
        imported = importBase;
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        Map<String, String> settings = Map.of("wal_level", "replica", "wal_consistency_checking", "all",
                "full_page_writes", "on", "autovacuum", "off", "wal_keep_size", "2GB", "checkpoint_timeout", "1h",
                "max_wal_size", "4GB", "max_prepared_transactions", "8");
        try (PostgresServer p = PostgresServer.builder().settings(settings).start()) {
            primary = p;
            try (Connection c = connect(primary, "template1"); Statement s = c.createStatement()) {
                s.execute("CREATE EXTENSION pageinspect"); // new databases get it from their template
            }
            try (Connection c = connect(primary, "postgres"); Statement s = c.createStatement()) {
                s.execute("CREATE EXTENSION pageinspect");
                if (!imported) {
                    try (ResultSet rs = s.executeQuery("SELECT pg_relation_filenode(oid) FROM pg_class "
                            + "WHERE pg_relation_filenode(oid) IS NOT NULL")) {
                        while (rs.next()) {
                            preexisting.add(rs.getLong(1));
                        }
                    }
                    try (ResultSet rs = s.executeQuery("SELECT oid FROM pg_database")) {
                        while (rs.next()) {
                            preexistingDbs.add(rs.getLong(1));
                        }
                    }
                }
            }
            // The standby: a copy of the cleanly stopped primary, streaming from it.
            primary.stop();
            Path standbyData = dir.resolve("standby");
            copyDataDir(primary.dataDir(), standbyData);
            Files.writeString(standbyData.resolve("standby.signal"), "");
            if (imported) {
                importedAs = InitdbImport.inspect(primary.dataDir());
                store = LayerStore.create(dir.resolve("timeline"), TimelineId.random(), importedAs.checkpointLsn(),
                        StorageConfig.DEFAULTS);
                InitdbImport.importInto(primary.dataDir(), importedAs, store);
            }
            primary.start();
            Map<String, String> standbySettings = new HashMap<>(Map.of("hot_standby", "on",
                    "max_prepared_transactions", "8", "max_standby_streaming_delay", "-1",
                    "primary_conninfo", "host=" + primary.host() + " port=" + primary.port() + " user=" + primary.user()
                            + " password=" + primary.password() + " application_name=oracle_standby"));
            try (PostgresServer sb = PostgresServer.builder().dataDir(standbyData).user(primary.user())
                    .password(primary.password()).settings(standbySettings).start()) {
                standby = sb;
                runOracle(dir, group);
            }
        } finally {
            if (store != null) {
                store.close();
            }
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private void runOracle(Path dir, EventLoopGroup group) throws Exception {
        Lsn checkpointLsn;
        Lsn start;
        WalIngest ingest;
        if (imported) {
            checkpointLsn = importedAs.checkpointLsn();
            start = importedAs.endLsn();
            ingest = new WalIngest(store, RmgrRegistry.defaults(), importedAs.dataChecksums(), TimelineBase.IMPORTED,
                    checkpointLsn);
        } else {
            try (Connection c = connect(primary, "postgres"); Statement s = c.createStatement()) {
                s.execute("CHECKPOINT");
                checkpointLsn = Lsn.parse(scalar(s, "SELECT checkpoint_lsn FROM pg_control_checkpoint()"));
            }
            DecodedRecord cpRecord = readRecord(primary, checkpointLsn);
            start = cpRecord.endLsn();
            store = LayerStore.create(dir.resolve("timeline"), TimelineId.random(), checkpointLsn, StorageConfig.DEFAULTS);
            // What an import would leave: the checkpoint's values at its end LSN.
            store.put(Key.checkpoint(), start, new Value.Image(CheckPoint.decode(cpRecord.mainData()).encode()));
            store.position().walIngested(start);
            ingest = new WalIngest(store, RmgrRegistry.defaults(), false, TimelineBase.WAL_ONLY, checkpointLsn);
        }
        log.info("standby oracle ({}): timeline starts at {} after the checkpoint record at {}",
                imported ? "imported" : "WAL only", start, checkpointLsn);
        {
            ReplicationClient.Options dead = new ReplicationClient.Options("127.0.0.1", deadPort(), primary.user(),
                    primary.password(), "pageserver-oracle", Duration.ofSeconds(2));
            ReplicationClient.Options live = new ReplicationClient.Options(primary.host(), primary.port(), primary.user(),
                    primary.password(), "pageserver-oracle", Duration.ofSeconds(5));
            try (WalReceiver rx = new WalReceiver(ingest, start, checkpointLsn, List.of(dead, live),
                    group).start()) {
                receiver = rx;
                try (Connection c = connect(primary, "postgres"); Statement s = c.createStatement()) {
                    phase1(s, !imported);
                    pauseAndCompare("after setup", c);
                    phase2(c);
                    pauseAndCompare("after transactions", c);
                    phase3(c);
                    pauseAndCompare("after databases", c);
                    compareWithACheckpoint(s);
                }
                assertThat(rx.failure()).isNull();
                assertThat(rx.currentSource()).isEqualTo(live);
                log.info("standby oracle: totals {}; {} VM clears and {} SLRU changes skipped on pre-start state; "
                        + "{} CheckPoint updates", counts, ingest.skippedOnUnseenForks(), ingest.skippedSlruChanges(),
                        ingest.checkpointUpdates());
            }
        }
    }

    // ------------------------------------------------------------------ workload

    /** Burns xids past the first CLOG page (so its successor is zeroed after the start), then tables of every kind. */
    private static void phase1(Statement s, boolean burn) throws Exception {
        if (burn) {
            s.execute("SET synchronous_commit = off");
            s.execute("CREATE PROCEDURE burn(n int) LANGUAGE plpgsql AS $$ BEGIN FOR i IN 1..n LOOP "
                    + "PERFORM pg_current_xact_id(); COMMIT; END LOOP; END $$");
            long xid = Long.parseLong(scalar(s, "SELECT pg_current_xact_id()::text"));
            s.execute("CALL burn(" + Math.max(0, 32768 + 100 - xid) + ")");
            s.execute("RESET synchronous_commit");
        }
        // pgbench's tables (scale 0.2), as its -i would make them.
        s.execute("CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int, filler char(88)) WITH (fillfactor=100)");
        s.execute("CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int, tbalance int, filler char(84)) WITH (fillfactor=100)");
        s.execute("CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84)) WITH (fillfactor=100)");
        s.execute("CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))");
        s.execute("INSERT INTO pgbench_branches SELECT g, 0 FROM generate_series(1, 2) g");
        s.execute("INSERT INTO pgbench_tellers SELECT g, (g - 1) / 10 + 1, 0 FROM generate_series(1, 20) g");
        s.execute("INSERT INTO pgbench_accounts SELECT g, (g - 1) / 10000 + 1, 0, '' FROM generate_series(1, 20000) g");
        s.execute("VACUUM ANALYZE pgbench_accounts");
        // Every index kind, TOAST, a sequence.
        s.execute("CREATE TABLE docs (id serial PRIMARY KEY, tags text[], body text, pos point, rng int4range, n int)");
        s.execute("INSERT INTO docs (tags, body, pos, rng, n) SELECT ARRAY['t' || g % 10, 'u' || g % 7], "
                + "repeat(md5(g::text), CASE WHEN g % 50 = 0 THEN 400 ELSE 2 END), point(g % 100, g / 100), "
                + "int4range(g, g + 10), g FROM generate_series(1, 3000) g");
        s.execute("CREATE INDEX docs_tags_gin ON docs USING gin (tags)");
        s.execute("CREATE INDEX docs_pos_gist ON docs USING gist (pos)");
        s.execute("CREATE INDEX docs_pos_spgist ON docs USING spgist (pos)");
        s.execute("CREATE INDEX docs_rng_gist ON docs USING gist (rng)");
        s.execute("CREATE INDEX docs_n_brin ON docs USING brin (n) WITH (pages_per_range = 4)");
        s.execute("CREATE INDEX docs_n_hash ON docs USING hash (n)");
        s.execute("CREATE SEQUENCE seq1");
        s.execute("SELECT nextval('seq1') FROM generate_series(1, 50)");
        s.execute("CREATE TABLE mx (id int PRIMARY KEY, v int)");
        s.execute("INSERT INTO mx SELECT g, g FROM generate_series(1, 2400) g");
        s.execute("CREATE TABLE held (id int)");
    }

    /** pgbench transactions, savepoints, two-phase commit, multixacts, VACUUM, TRUNCATE. */
    private void phase2(Connection c) throws Exception {
        try (Statement s = c.createStatement()) {
            java.util.Random rnd = new java.util.Random(42);
            for (int i = 0; i < 150; i++) {
                int aid = 1 + rnd.nextInt(20000);
                int tid = 1 + rnd.nextInt(20);
                int bid = 1 + rnd.nextInt(2);
                int delta = rnd.nextInt(10000) - 5000;
                s.execute("BEGIN; UPDATE pgbench_accounts SET abalance = abalance + " + delta + " WHERE aid = " + aid
                        + "; UPDATE pgbench_tellers SET tbalance = tbalance + " + delta + " WHERE tid = " + tid
                        + "; UPDATE pgbench_branches SET bbalance = bbalance + " + delta + " WHERE bid = " + bid
                        + "; INSERT INTO pgbench_history VALUES (" + tid + ", " + bid + ", " + aid + ", " + delta
                        + ", now()); COMMIT");
            }
            // Savepoints: rolled back, released, and a whole transaction with subxacts rolled back.
            s.execute("BEGIN; INSERT INTO docs (n) VALUES (-10); SAVEPOINT a; INSERT INTO docs (n) VALUES (-11); "
                    + "UPDATE docs SET n = n + 1 WHERE id < 20; ROLLBACK TO SAVEPOINT a; SAVEPOINT b; "
                    + "INSERT INTO docs (n) VALUES (-12); RELEASE b; COMMIT");
            s.execute("BEGIN; INSERT INTO docs (n) VALUES (-13); SAVEPOINT x; INSERT INTO docs (n) VALUES (-14); ROLLBACK");
            // 100 subtransactions, a third of them failing (more than 64: xid assignment records).
            s.execute("DO $$ BEGIN FOR i IN 1..100 LOOP BEGIN INSERT INTO docs (n) VALUES (-1000 - i); "
                    + "IF i % 3 = 0 THEN RAISE EXCEPTION 'no'; END IF; EXCEPTION WHEN others THEN NULL; END; END LOOP; END $$");
            // Two-phase commit: committed, rolled back (with a subtransaction), and one left open.
            s.execute("BEGIN; INSERT INTO docs (n) VALUES (-20); PREPARE TRANSACTION 'p1'");
            s.execute("COMMIT PREPARED 'p1'");
            s.execute("BEGIN; INSERT INTO docs (n) VALUES (-21); SAVEPOINT s1; INSERT INTO docs (n) VALUES (-22); "
                    + "PREPARE TRANSACTION 'p2'");
            s.execute("ROLLBACK PREPARED 'p2'");
            s.execute("BEGIN; INSERT INTO held VALUES (1); SAVEPOINT s1; INSERT INTO held VALUES (2); PREPARE TRANSACTION 'p3'");
        }
        // Multixacts: session A locks each row in its own subtransaction and stays open; session B
        // then shares every lock, so each row gets a multixact of two distinct members.
        try (Connection a = connect(primary, "postgres"); Statement sa = a.createStatement();
             Connection b = connect(primary, "postgres"); Statement sb = b.createStatement()) {
            sa.execute("BEGIN");
            sa.execute("DO $$ BEGIN FOR i IN 1..2400 LOOP BEGIN PERFORM 1 FROM mx WHERE id = i FOR SHARE; "
                    + "EXCEPTION WHEN others THEN NULL; END; END LOOP; END $$");
            sb.execute("BEGIN");
            sb.execute("SELECT count(*) FROM (SELECT * FROM mx FOR SHARE) l");
            sb.execute("COMMIT");
            sa.execute("COMMIT");
        }
        try (Statement s = c.createStatement()) {
            s.execute("DELETE FROM pgbench_accounts WHERE aid > 18000");
            s.execute("VACUUM pgbench_accounts");
            s.execute("UPDATE docs SET tags = tags || ARRAY['v'], n = n + 1 WHERE id % 9 = 0");
            s.execute("DELETE FROM docs WHERE id % 13 = 0");
            s.execute("VACUUM docs");
            s.execute("TRUNCATE pgbench_history");
            s.execute("INSERT INTO pgbench_history SELECT 1, 1, g, g, now() FROM generate_series(1, 100) g");
            s.execute("SELECT nextval('seq1') FROM generate_series(1, 40)");
            s.execute("CHECKPOINT"); // writes p3's state file on the primary, for the byte comparison
        }
    }

    /** CREATE DATABASE with both strategies, DROP DATABASE, VACUUM FULL, the open prepared transaction ends. */
    private void phase3(Connection c) throws Exception {
        try (Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE d1 STRATEGY WAL_LOG");
        }
        try (Connection d1 = connect(primary, "d1"); Statement s = d1.createStatement()) {
            s.execute("CREATE TABLE t1 (id int PRIMARY KEY, v text)");
            s.execute("INSERT INTO t1 SELECT g, repeat('d', g % 300) FROM generate_series(1, 2000) g");
            s.execute("CREATE INDEX t1_v ON t1 USING hash (v)");
            s.execute("VACUUM FULL pg_class"); // a mapped catalog gets a new file: RelMap UPDATE
        }
        try (Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE d2 TEMPLATE d1 STRATEGY FILE_COPY");
            s.execute("CREATE DATABASE d3 STRATEGY WAL_LOG");
            dropped = Long.parseLong(scalar(s, "SELECT oid FROM pg_database WHERE datname = 'd3'"));
            s.execute("DROP DATABASE d3");
            s.execute("VACUUM FULL docs");
            s.execute("UPDATE docs SET body = body || 'w' WHERE id % 5 = 0");
            s.execute("ALTER SEQUENCE seq1 RESTART WITH 1000");
            s.execute("SELECT nextval('seq1')");
            s.execute("COMMIT PREPARED 'p3'");
        }
        try (Connection d2 = connect(primary, "d2"); Statement s = d2.createStatement()) {
            s.execute("INSERT INTO t1 SELECT g, 'x' FROM generate_series(2001, 2500) g");
        }
    }

    private long dropped;

    // ------------------------------------------------------------------ comparison

    /**
     * After a CHECKPOINT on the primary (nothing else running), our CheckPoint value must agree
     * with the primary's: the counters that only WAL moves exactly, nextXid and nextOid at or
     * above (ours may legitimately be ahead: NEXTOID reserves 8192 OIDs).
     */
    private void compareWithACheckpoint(Statement s) throws Exception {
        s.execute("CHECKPOINT");
        Lsn end = WalOracle.endOfWork(s);
        receiver.awaitLsn(end, Duration.ofSeconds(60));
        CheckPoint ours = CheckPoint.decode(ours(Key.checkpoint(), receiver.lastRecordLsn()));
        try (ResultSet rs = s.executeQuery("SELECT redo_lsn, next_xid, next_oid, next_multixact_id, "
                + "next_multi_offset, oldest_xid, oldest_xid_dbid, oldest_multi_xid, oldest_multi_dbid, timeline_id "
                + "FROM pg_control_checkpoint()")) {
            rs.next();
            String[] xid = rs.getString(2).split(":");
            long theirNextXid = (Long.parseLong(xid[0]) << 32) + Long.parseLong(xid[1]);
            assertThat(ours.redo()).isEqualTo(Lsn.parse(rs.getString(1)));
            assertThat(ours.nextFullXid()).as("nextXid").isGreaterThanOrEqualTo(theirNextXid);
            assertThat(Integer.toUnsignedLong(ours.nextOid()) - rs.getLong(3)).as("nextOid ahead by")
                    .isBetween(0L, 8192L);
            assertThat(Integer.toUnsignedLong(ours.nextMulti())).as("nextMulti").isEqualTo(rs.getLong(4));
            assertThat(Integer.toUnsignedLong(ours.nextMultiOffset())).as("nextMultiOffset").isEqualTo(rs.getLong(5));
            assertThat(Integer.toUnsignedLong(ours.oldestXid())).isEqualTo(rs.getLong(6));
            assertThat(Integer.toUnsignedLong(ours.oldestXidDb())).isEqualTo(rs.getLong(7));
            assertThat(Integer.toUnsignedLong(ours.oldestMulti())).isEqualTo(rs.getLong(8));
            assertThat(Integer.toUnsignedLong(ours.oldestMultiDb())).isEqualTo(rs.getLong(9));
            assertThat(ours.thisTimeLineId()).isEqualTo(rs.getInt(10));
            log.info("standby oracle: CheckPoint after the final checkpoint: ours nextXid {} (primary {}), nextOid {} "
                    + "(primary {}), nextMulti {} offset {}", ours.nextFullXid(), theirNextXid,
                    Integer.toUnsignedLong(ours.nextOid()), rs.getLong(3), ours.nextMulti(), ours.nextMultiOffset());
        }
    }

    private void pauseAndCompare(String point, Connection primaryConn) throws Exception {
        Lsn target;
        try (Statement s = primaryConn.createStatement()) {
            target = WalOracle.endOfWork(s);
        }
        Lsn at;
        try (Connection sc = connect(standby, "postgres"); Statement s = sc.createStatement()) {
            at = pauseReplayAt(s, target, Duration.ofSeconds(90));
            receiver.awaitLsn(at, Duration.ofSeconds(90));
            List<String> mismatches = new ArrayList<>();
            Map<String, Integer> before = new HashMap<>(counts);
            compareDatabases(sc, at, mismatches);
            compareClog(sc, at, mismatches);
            compareMultixacts(sc, at, mismatches);
            compareTwoPhase(sc, primaryConn, at, mismatches);
            s.execute("SELECT pg_wal_replay_resume()");
            Map<String, Integer> delta = new HashMap<>();
            counts.forEach((k, v) -> delta.put(k, v - before.getOrDefault(k, 0)));
            log.info("standby oracle {} at {}: compared {}; {} mismatches", point, at, delta, mismatches.size());
            assertThat(mismatches).as("mismatches " + point + " at " + at).isEmpty();
        }
    }

    private void count(String what, int n) {
        counts.merge(what, n, Integer::sum);
    }

    private byte[] ours(Key k, Lsn at) {
        return store.getValue(k, at, redo);
    }

    private void compareDatabases(Connection sc, Lsn at, List<String> mismatches) throws Exception {
        DbDirectory dbs = DbDirectory.decode(ours(Key.databaseDirectory(), at));
        Map<String, Long> standbyDbs = new HashMap<>();
        Set<String> connectable = new HashSet<>();
        try (Statement s = sc.createStatement();
             ResultSet rs = s.executeQuery("SELECT datname, oid, datallowconn FROM pg_database")) {
            while (rs.next()) {
                standbyDbs.put(rs.getString(1), rs.getLong(2));
                if (rs.getBoolean(3)) {
                    connectable.add(rs.getString(1));
                }
            }
        }
        if (imported) {
            DbDirectory expected = DbDirectory.EMPTY.with(GLOBAL, 0);
            for (long oid : standbyDbs.values()) {
                expected = expected.with(SPC, (int) oid);
            }
            if (!expected.equals(dbs)) {
                mismatches.add("database directory: ours " + dbs + ", standby " + expected);
            }
        }
        for (Map.Entry<String, Long> db : standbyDbs.entrySet()) {
            boolean isNew = !preexistingDbs.contains(db.getValue());
            if (isNew && !dbs.contains(SPC, db.getValue().intValue())) {
                mismatches.add("database " + db.getKey() + " (" + db.getValue() + ") missing from our directory " + dbs);
            }
            if (connectable.contains(db.getKey()) && (isNew || db.getKey().equals("postgres"))) {
                compareRelations(db.getKey(), db.getKey(), SPC, db.getValue(), "c.reltablespace = 0", isNew, at,
                        mismatches);
            }
        }
        if (imported) {
            compareRelations("postgres", "global", GLOBAL, 0, "c.reltablespace = " + GLOBAL, true, at, mismatches);
        }
        for (DbDirectory.Db d : dbs.entries()) {
            long oid = Integer.toUnsignedLong(d.dbOid());
            if (d.spcOid() == SPC && !preexistingDbs.contains(oid) && !standbyDbs.containsValue(oid)) {
                mismatches.add("database " + oid + " is in our directory but not on the standby");
            }
        }
        if (dropped != 0 && dbs.contains(SPC, (int) dropped)) {
            mismatches.add("dropped database " + dropped + " still in our directory");
        }
        count("databases", standbyDbs.size());
    }

    /**
     * Compares the relations of one (tablespace, database) as seen from a connection to
     * {@code connectDb}: every one if {@code all}, else those created after the start.
     */
    private void compareRelations(String connectDb, String label, int spc, long dbOid, String tablespaceFilter,
                                  boolean all, Lsn at, List<String> mismatches) throws Exception {
        RelDirectory dir = RelDirectory.decode(ours(Key.relationDirectory(spc, (int) dbOid), at));
        Set<Long> standbyRels = new TreeSet<>();
        Set<Long> ourRels = new TreeSet<>();
        for (RelDirectory.RelFork f : dir.entries()) {
            long rel = Integer.toUnsignedLong(f.relNumber());
            if (f.fork() == 0 && (all || !preexisting.contains(rel))) {
                ourRels.add(rel);
            }
        }
        try (Connection c = connect(standby, connectDb); Statement s = c.createStatement()) {
            if (all) {
                String file = spc == GLOBAL ? "global/pg_filenode.map" : "base/" + dbOid + "/pg_filenode.map";
                byte[] map = bytes(c, "SELECT pg_read_binary_file('" + file + "')");
                if (!java.util.Arrays.equals(map, ours(Key.relmapperFile(spc, (int) dbOid), at))) {
                    mismatches.add(file + ": relmapper file differs");
                }
                count("relmapper files", 1);
            }
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
                long relNumber = (Long) r[3];
                if (!all && preexisting.contains(relNumber)) {
                    continue;
                }
                standbyRels.add(relNumber);
                PageMask.Kind kind = PageMask.Kind.of((String) r[1], (String) r[2]);
                compareFork(c, label, spc, dbOid, (String) r[0], relNumber, 0, kind, dir, at, mismatches);
                if (kind == PageMask.Kind.HEAP) {
                    compareFork(c, label, spc, dbOid, (String) r[0], relNumber, 2, PageMask.Kind.VISIBILITY_MAP, dir,
                            at, mismatches);
                }
                count("relations", 1);
                count("relations " + kind, 1);
            }
        }
        if (!standbyRels.equals(ourRels)) {
            Set<Long> onlyOurs = new TreeSet<>(ourRels);
            onlyOurs.removeAll(standbyRels);
            Set<Long> onlyStandby = new TreeSet<>(standbyRels);
            onlyStandby.removeAll(ourRels);
            mismatches.add(label + ": relation directory: only ours " + onlyOurs + ", only the standby's " + onlyStandby);
        }
    }


    private void compareFork(Connection c, String db, int spc, long dbOid, String name, long relNumber, int fork,
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
        String what = db + "." + name + " (" + relNumber + ") " + forkName;
        if (oursSize != blocks && !(oursSize == -1 && blocks == 0)) {
            mismatches.add(what + ": size " + oursSize + ", standby " + blocks);
            return;
        }
        if (blocks == 0) {
            return;
        }
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT b, get_raw_page(?, ?, b::int) FROM generate_series(0, ? - 1) b ORDER BY b")) {
            ps.setString(1, name);
            ps.setString(2, forkName);
            ps.setLong(3, blocks);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long blk = rs.getLong(1);
                    byte[] theirs = rs.getBytes(2);
                    byte[] mine = ours(Key.relationBlock(spc, (int) dbOid, (int) relNumber, fork, (int) blk), at);
                    if (mine == null) {
                        mine = new byte[8192]; // below the size, never written: a zero page
                    }
                    int diff = PageMask.firstDifference(PageMask.mask(theirs, kind), PageMask.mask(mine, kind));
                    if (diff >= 0) {
                        mismatches.add(what + " blk " + blk + " (" + kind + "): differs at byte " + diff);
                    } else if (kind != PageMask.Kind.VISIBILITY_MAP) {
                        int blind = PageMask.blindSpot(theirs, mine, kind);
                        if (blind >= 0) {
                            mismatches.add(what + " blk " + blk + ": mask hides a flipped byte at " + blind);
                        }
                    }
                    count("pages", 1);
                }
            }
        }
    }

    private void compareClog(Connection sc, Lsn at, List<String> mismatches) throws Exception {
        long xmax;
        try (Statement s = sc.createStatement()) {
            xmax = Long.parseLong(scalar(s, "SELECT pg_snapshot_xmax(pg_current_snapshot())::text"));
        }
        // WAL only: the CLOG pages zeroed after the start (xids were burnt past the first page).
        long firstXid = imported ? 3 : 32768;
        if (!imported) {
            assertThat(xmax).as("xids were burnt past the first CLOG page").isGreaterThan(32768);
        }
        Map<Long, byte[]> pages = new HashMap<>();
        int compared = 0;
        try (Statement s = sc.createStatement();
             ResultSet rs = s.executeQuery("SELECT x, pg_xact_status(x::text::xid8) FROM generate_series(" + firstXid + ", "
                     + (xmax - 1) + ") x")) {
            while (rs.next()) {
                long xid = rs.getLong(1);
                String status = rs.getString(2);
                if (status == null) {
                    // pg_xact_status answers NULL below the oldest xid whose CLOG it keeps (initdb's
                    // frozen xids); that must be a prefix of the range.
                    if (compared > 0) {
                        mismatches.add("xid " + xid + ": standby has no status after " + compared + " that had one");
                    }
                    count("xids older than the standby's CLOG horizon", 1);
                    continue;
                }
                long page = xid / 32768;
                byte[] p = pages.computeIfAbsent(page, pg -> ours(Key.slruPage(SlruKind.CLOG, (int) (pg / 32),
                        (int) (pg % 32)), at));
                if (p == null) {
                    mismatches.add("CLOG page " + page + " (xid " + xid + ") missing");
                    continue;
                }
                int inPage = (int) (xid % 32768);
                int bits = (p[inPage / 4] >> ((inPage % 4) * 2)) & 3;
                String mine = switch (bits) {
                    case 0 -> "in progress";
                    case 1 -> "committed";
                    case 2 -> "aborted";
                    default -> "sub-committed";
                };
                if (!mine.equals(status)) {
                    mismatches.add("xid " + xid + ": ours " + mine + ", standby " + status);
                }
                compared++;
            }
        }
        count("xids", compared);
        CheckPoint cp = CheckPoint.decode(ours(Key.checkpoint(), at));
        if (cp.nextFullXid() < xmax) {
            mismatches.add("our nextXid " + cp.nextFullXid() + " is behind the standby's xmax " + xmax);
        }
        try (Statement s = sc.createStatement()) {
            long maxOid = Long.parseLong(scalar(s, "SELECT max(oid::int8) FROM pg_class"));
            if (Integer.toUnsignedLong(cp.nextOid()) <= maxOid) {
                mismatches.add("our nextOid " + Integer.toUnsignedLong(cp.nextOid()) + " is not above pg_class's "
                        + maxOid);
            }
        }
    }

    private void compareMultixacts(Connection sc, Lsn at, List<String> mismatches) throws Exception {
        CheckPoint cp = CheckPoint.decode(ours(Key.checkpoint(), at));
        long nextMulti = Integer.toUnsignedLong(cp.nextMulti());
        long first = imported ? 1 : 2048; // WAL only: the first multi on an offsets page zeroed after the start
        if (nextMulti <= first) {
            return;
        }
        Map<Long, List<String>> theirs = new HashMap<>();
        try (Statement s = sc.createStatement();
             ResultSet rs = s.executeQuery("SELECT m, mm.xid::text, mm.mode FROM generate_series(" + first + ", "
                     + (nextMulti - 1) + ") m, LATERAL pg_get_multixact_members(m::text::xid) WITH ORDINALITY mm "
                     + "ORDER BY m, mm.ordinality")) {
            while (rs.next()) {
                theirs.computeIfAbsent(rs.getLong(1), k -> new ArrayList<>()).add(rs.getString(2) + ":" + rs.getString(3));
            }
        }
        for (long m = first; m < nextMulti; m++) {
            long offset = offsetOf(m, at);
            long end = m + 1 < nextMulti ? offsetOf(m + 1, at) : Integer.toUnsignedLong(cp.nextMultiOffset());
            List<String> mine = new ArrayList<>();
            for (long o = offset; o < end; o++) {
                long page = o / 1636;
                byte[] p = ours(Key.slruPage(SlruKind.MULTIXACT_MEMBERS, (int) (page / 32), (int) (page % 32)), at);
                if (p == null) {
                    mine.add("members page " + page + " missing");
                    continue;
                }
                int group = (int) ((o / 4) % 409);
                int inGroup = (int) (o % 4);
                ByteBuffer b = ByteBuffer.wrap(p).order(ByteOrder.LITTLE_ENDIAN);
                mine.add(Integer.toUnsignedString(b.getInt(group * 20 + 4 + 4 * inGroup)) + ":"
                        + MODES[p[group * 20 + inGroup]]);
            }
            if (!mine.equals(theirs.getOrDefault(m, List.of()))) {
                mismatches.add("multixact " + m + ": ours " + mine + ", standby " + theirs.get(m));
            }
        }
        count("multixacts", (int) (nextMulti - first));
        assertThat(nextMulti).as("the two FOR SHARE sessions made multixacts past the first offsets page")
                .isGreaterThan(2100);
    }

    private long offsetOf(long multi, Lsn at) {
        long page = multi / 2048;
        byte[] p = ours(Key.slruPage(SlruKind.MULTIXACT_OFFSETS, (int) (page / 32), (int) (page % 32)), at);
        if (p == null) {
            throw new AssertionError("offsets page " + page + " missing at " + at);
        }
        return Integer.toUnsignedLong(ByteBuffer.wrap(p).order(ByteOrder.LITTLE_ENDIAN).getInt((int) (multi % 2048) * 4));
    }

    private void compareTwoPhase(Connection sc, Connection primaryConn, Lsn at, List<String> mismatches)
            throws Exception {
        NumberSet mine = NumberSet.decode(ours(Key.twoPhaseDirectory(), at));
        // A hot standby lists no prepared transactions (they are recovered, not valid, until
        // promotion); the primary's list is the same set here, since the pause comes after the
        // phase's last two-phase command.
        NumberSet theirs = NumberSet.EMPTY;
        try (Statement s = primaryConn.createStatement();
             ResultSet rs = s.executeQuery("SELECT transaction::text FROM pg_prepared_xacts")) {
            while (rs.next()) {
                theirs = theirs.with((int) Long.parseLong(rs.getString(1)));
            }
        }
        if (!mine.equals(theirs)) {
            mismatches.add("prepared transactions: ours " + mine + ", primary " + theirs);
        }
        for (int xid : mine.toArray()) {
            String file = String.format("pg_twophase/%08X%08X", 0, xid);
            byte[] onPrimary;
            try (Statement s = primaryConn.createStatement()) {
                onPrimary = bytes(primaryConn, "SELECT pg_read_binary_file('" + file + "', 0, 1000000, true)");
            }
            if (onPrimary != null && !java.util.Arrays.equals(onPrimary, ours(Key.twoPhaseFile(xid), at))) {
                mismatches.add(file + ": our state file differs from the primary's");
            }
            count("two-phase files" + (onPrimary == null ? " (not on the primary's disk yet)" : ""), 1);
        }
    }

    // ------------------------------------------------------------------ helpers

    private static byte[] bytes(Connection c, String sql) throws Exception {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getBytes(1);
        }
    }

    /** The record starting at {@code lsn}, decoded from the primary's WAL segment file. */
    private static DecodedRecord readRecord(PostgresServer pg, Lsn lsn) throws IOException {
        Lsn segStart = lsn.segmentStart(SEGMENT);
        byte[] segment = Files.readAllBytes(pg.walDir().resolve(segStart.walFileName(1, SEGMENT)));
        WalDecoder d = WalDecoder.atSegmentStart(segStart);
        d.feed(segment);
        DecodedRecord r;
        while ((r = d.poll()) != null) {
            if (r.startLsn().equals(lsn)) {
                return r;
            }
        }
        throw new AssertionError("no record at " + lsn + " in " + segStart.walFileName(1, SEGMENT));
    }

    private static int deadPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }
}
