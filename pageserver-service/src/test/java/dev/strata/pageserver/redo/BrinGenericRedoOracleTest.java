package dev.strata.pageserver.redo;

import dev.strata.pageserver.redo.brin.BrinRedo;
import dev.strata.pageserver.redo.page.ItemId;
import dev.strata.pageserver.testing.WalOracle;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.wal.RmgrId;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
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

    private static final String[] REQUIRED = {
        "BRIN/CREATE_INDEX", "BRIN/INSERT", "BRIN/INSERT+INIT", "BRIN/UPDATE", "BRIN/UPDATE+INIT",
        "BRIN/SAMEPAGE_UPDATE", "BRIN/REVMAP_EXTEND", "BRIN/DESUMMARIZE", "Generic/Generic",
    };

    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void javaBrinAndGenericRedoMatchEveryConsistencyImage(@TempDir Path dir) throws Exception {
        long seed = Long.getLong("strata.redo.oracle.seed", 14);
        try (PostgresServer pg = WalOracle.consistencyCheckingPrimary().start()) {
            RedoOracleRun.Result result = RedoOracleRun.run(pg, dir, "brin", brokenSamepageUpdate(),
                    p -> workload(p, new Random(seed)));
            result.log(log, "seed " + seed + ", wal_consistency_checking=all, workload of BrinGenericRedoOracleTest",
                    "a deliberately broken SAMEPAGE_UPDATE routine");
            result.assertAllAgree(REQUIRED, 1);
            result.assertFaultCaughtOnlyAt("BRIN/SAMEPAGE_UPDATE");
        }
    }

    /** The default routines, but SAMEPAGE_UPDATE flips the last byte of the tuple it wrote. */
    private static Map<Integer, RmgrRedo> brokenSamepageUpdate() {
        return RedoOracleRun.withFault(RmgrId.BRIN, (r, b, page) -> {
            if ((r.info() & BrinRedo.XLOG_BRIN_OPMASK) == BrinRedo.XLOG_BRIN_SAMEPAGE_UPDATE) {
                int offnum = r.mainDataBuffer().order(java.nio.ByteOrder.LITTLE_ENDIAN).getShort(0) & 0xFFFF;
                page[ItemId.offset(page, offnum) + ItemId.length(page, offnum) - 1] ^= 0x5A;
            }
        });
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
                WalOracle.scalar(s, "SELECT brin_summarize_new_values('b_brin')");
            }
            // Summaries of small rows fill a regular page; values outside a range widen its
            // summary in place (SAMEPAGE_UPDATE) while it fits, then longer texts move it to
            // another page (UPDATE, UPDATE+INIT for a fresh page).
            // (Eight ~1 KB rows a heap page; after DELETE and VACUUM the holes take new rows, so
            // they land in summarized ranges.)
            s.execute("CREATE TABLE m (id int, t text, pad text)");
            s.execute("CREATE INDEX m_brin ON m USING brin (id, t) WITH (pages_per_range = 1)");
            s.execute("INSERT INTO m SELECT g, 'v' || g, repeat('p', 950) FROM generate_series(1, 2400) g");
            WalOracle.scalar(s, "SELECT brin_summarize_new_values('m_brin')");
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
                WalOracle.scalar(s, "SELECT brin_desummarize_range('m_brin', " + rnd.nextInt(200) + ")");
            }
            WalOracle.scalar(s, "SELECT brin_summarize_new_values('m_brin')");
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
            return RedoOracleRun.endOfWork(pg);
        }
    }
}
