package dev.strata.pageserver.redo;

import dev.strata.pageserver.redo.heap.HeapRecords;
import dev.strata.pageserver.redo.page.HeapTuple;
import dev.strata.pageserver.redo.page.Page;
import dev.strata.pageserver.testing.WalOracle;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.wal.RmgrId;
import java.io.StringReader;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
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
        try (PostgresServer pg = WalOracle.consistencyCheckingPrimary().setting("wal_level", walLevel).start()) {
            RedoOracleRun.Result result = RedoOracleRun.run(pg, dir, "redo", brokenInsert(), RedoOracleTest::workload);
            result.log(log, "wal_level=" + walLevel + ", wal_consistency_checking=all, workload of RedoOracleTest",
                    "a deliberately broken INSERT routine");
            result.assertAllAgree(REQUIRED, MIN_VERIFIED);
            // The fault is caught, and only where it was injected.
            result.assertFaultCaughtOnlyAt("Heap/INSERT");
        }
    }

    /**
     * The default routines, but INSERT (without INIT) flips the first byte after the new
     * tuple's header: null bitmap or data, which no mask hides. A fake only to inject a fault.
     */
    private static Map<Integer, RmgrRedo> brokenInsert() {
        return RedoOracleRun.withFault(RmgrId.HEAP, (r, b, page) -> {
            if ((r.info() & 0xF0) == HeapRecords.XLOG_HEAP_INSERT) { // no INIT bit (low bits: XLR_INFO_MASK)
                page[Page.upper(page) + HeapTuple.HEADER_SIZE] ^= 0x5A;
            }
        });
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
            return RedoOracleRun.endOfWork(pg);
        }
    }
}
