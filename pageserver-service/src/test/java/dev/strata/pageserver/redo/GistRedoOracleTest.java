package dev.strata.pageserver.redo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.redo.gist.GistRedo;
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
 * The redo oracle for GiST against a real PostgreSQL 17 with {@code wal_consistency_checking=all}
 * ({@link RedoOracleRun}): a seeded workload that reaches every GiST record type that registers
 * a page (PAGE_UPDATE with and without a left child, PAGE_SPLIT including root splits, DELETE,
 * PAGE_DELETE) and PAGE_REUSE, which registers none. 0 mismatches; each page-changing type
 * verified; PAGE_REUSE seen.
 *
 * <p>A second receiver ingests the same WAL with a PAGE_SPLIT routine broken on purpose (a fault
 * in test code only): every PAGE_SPLIT the good oracle verified must be a mismatch there, and
 * nothing else.
 *
 * <p>The seed is {@code -Dstrata.redo.oracle.seed=N} (default 14).
 */
class GistRedoOracleTest {

    private static final Logger log = LoggerFactory.getLogger(GistRedoOracleTest.class);

    private static final String[] REQUIRED = {
        "Gist/PAGE_UPDATE", "Gist/PAGE_SPLIT", "Gist/DELETE", "Gist/PAGE_DELETE",
    };

    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void javaGistRedoMatchesEveryConsistencyImage(@TempDir Path dir) throws Exception {
        long seed = Long.getLong("strata.redo.oracle.seed", 14);
        try (PostgresServer pg = WalOracle.consistencyCheckingPrimary().start()) {
            RedoOracleRun.Result result = RedoOracleRun.run(pg, dir, "gist", brokenSplit(),
                    p -> workload(p, new Random(seed)));
            result.log(log, "seed " + seed + ", wal_consistency_checking=all, workload of GistRedoOracleTest",
                    "a deliberately broken PAGE_SPLIT routine");
            result.assertAllAgree(REQUIRED, 1);
            RedoOracle.Counts reuse = result.counts().get("Gist/PAGE_REUSE");
            assertThat(reuse).as("Gist/PAGE_REUSE never seen: no deleted page was recycled").isNotNull();
            assertThat(reuse.seen()).isPositive();
            result.assertFaultCaughtOnlyAt("Gist/PAGE_SPLIT");
        }
    }

    /**
     * The one difference PostgreSQL itself has: DELETE's redo sets F_TUPLES_DELETED, the
     * primary's {@code gistprunepage} does not. On leaves VACUUM never touched, every DELETE is
     * a mismatch under PostgreSQL's {@code gist_mask} (and nothing else is), and none is when
     * the mask also hides that one flag: so the flag is all that differs.
     */
    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void deleteDiffersFromThePrimaryInTuplesDeletedOnly(@TempDir Path dir) throws Exception {
        long seed = Long.getLong("strata.redo.oracle.seed", 14);
        try (PostgresServer pg = WalOracle.consistencyCheckingPrimary().start()) {
            RedoOracleRun.Result result = RedoOracleRun.run(pg, dir, "gistdel", maskingTuplesDeleted(),
                    p -> pruneWithoutVacuum(p, new Random(seed)));
            result.log(log, "seed " + seed + ", GiST DELETE on leaves VACUUM never touched",
                    "gist_mask also hiding F_TUPLES_DELETED");
            RedoOracle.Counts delete = result.counts().get("Gist/DELETE");
            assertThat(delete).as("Gist/DELETE never seen").isNotNull();
            assertThat(delete.mismatched()).isPositive();
            assertThat(result.oracle().mismatches()).isEqualTo(delete.mismatched());
            assertThat(result.faulty().mismatches()).isZero();
            assertThat(result.faulty().snapshot().get("Gist/DELETE").verified())
                    .isEqualTo(delete.mismatched() + delete.verified());
        }
    }

    /** The default routines, with {@code gist_mask} clearing F_TUPLES_DELETED as well. */
    private static Map<Integer, RmgrRedo> maskingTuplesDeleted() {
        Map<Integer, RmgrRedo> m = new java.util.LinkedHashMap<>(RedoOracle.defaultRoutines());
        RmgrRedo gist = m.get(RmgrId.GIST.id());
        m.put(RmgrId.GIST.id(), new RmgrRedo() {
            @Override
            public boolean handles(dev.strata.pgcore.wal.DecodedRecord r) {
                return gist.handles(r);
            }

            @Override
            public void redo(dev.strata.pgcore.wal.DecodedRecord r, dev.strata.pgcore.wal.BlockReference b, byte[] page) {
                gist.redo(r, b, page);
            }

            @Override
            public void mask(byte[] page, long blockNumber) {
                gist.mask(page, blockNumber);
                int flags = dev.strata.pageserver.redo.page.Page.special(page) + 12;
                dev.strata.pageserver.redo.page.Page.putU16(page, flags,
                        dev.strata.pageserver.redo.page.Page.u16(page, flags) & ~GistRedo.F_TUPLES_DELETED);
            }
        });
        return m;
    }

    /** Points in a fresh GiST index; rows in a box deleted, marked dead by an index scan, pruned by inserts. */
    private static Lsn pruneWithoutVacuum(PostgresServer pg, Random rnd) throws Exception {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl("redo"));
             Statement s = c.createStatement()) {
            s.execute("CREATE TABLE f (id int, p point)");
            s.execute("CREATE INDEX f_p ON f USING gist (p)");
            StringBuilder values = new StringBuilder();
            for (int i = 1; i <= 4000; i++) {
                values.append(values.isEmpty() ? "" : ", ").append("(").append(i).append(", point(")
                        .append(rnd.nextInt(1000)).append(", ").append(rnd.nextInt(1000)).append("))");
            }
            s.execute("INSERT INTO f VALUES " + values);
            s.execute("DELETE FROM f WHERE p <@ box '((0,0),(400,400))' AND id % 2 = 0");
            s.execute("SET enable_seqscan = off");
            s.execute("SET enable_bitmapscan = off");
            WalOracle.scalar(s, "SELECT count(id) FROM f WHERE p <@ box '((0,0),(400,400))'");
            s.execute("RESET ALL");
            s.execute("INSERT INTO f SELECT 100000 + i, point(i % 400, (i * 7) % 400) FROM generate_series(1, 1500) i");
            return RedoOracleRun.endOfWork(pg);
        }
    }

    /** The default routines, but each page of a split gets the last byte of its first tuple flipped. */
    private static Map<Integer, RmgrRedo> brokenSplit() {
        return RedoOracleRun.withFault(RmgrId.GIST, (r, b, page) -> {
            if ((r.info() & 0xF0) == GistRedo.XLOG_GIST_PAGE_SPLIT && b.id() >= 1) {
                page[ItemId.offset(page, 1) + ItemId.length(page, 1) - 1] ^= 0x5A;
            }
        });
    }

    /**
     * Runs the workload in database {@code redo}; returns a record boundary at or after its end.
     */
    private static Lsn workload(PostgresServer pg, Random rnd) throws Exception {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl("redo"));
             Statement s = c.createStatement()) {
            // An empty index filled by inserts: tuples added (PAGE_UPDATE), leaves and inner
            // pages split, the root too (PAGE_SPLIT), downlinks inserted into the parent with the
            // left child's follow-right flag cleared (PAGE_UPDATE with block 1), parent keys
            // widened in place (PAGE_UPDATE replacing one tuple).
            s.execute("CREATE TABLE g (id int, p point)");
            s.execute("CREATE INDEX g_p ON g USING gist (p)");
            int id = 0;
            for (int round = 0; round < 30; round++) {
                StringBuilder values = new StringBuilder();
                for (int i = 0; i < 200; i++) {
                    values.append(values.isEmpty() ? "" : ", ").append("(").append(++id).append(", point(")
                            .append(rnd.nextInt(1000)).append(", ").append(rnd.nextInt(1000)).append("))");
                }
                s.execute("INSERT INTO g VALUES " + values);
            }
            // VACUUM deletes tuples from leaves (PAGE_UPDATE without inserts) and marks them
            // F_TUPLES_DELETED. (Before the next step on purpose: DELETE's redo sets that flag,
            // the primary's gistprunepage does not, so on a leaf VACUUM never touched the
            // replayed page differs from the image in that flag alone; see docs/redo.md.)
            s.execute("DELETE FROM g WHERE id % 10 = 0");
            s.execute("VACUUM g");
            // Dead tuples marked by an index scan (LP_DEAD and F_HAS_GARBAGE, without WAL); inserts
            // into those full leaves remove them first (DELETE).
            s.execute("DELETE FROM g WHERE p <@ box '((0,0),(300,300))' AND id % 2 = 0");
            s.execute("SET enable_seqscan = off");
            s.execute("SET enable_bitmapscan = off");
            WalOracle.scalar(s, "SELECT count(id) FROM g WHERE p <@ box '((0,0),(300,300))'");
            s.execute("RESET ALL");
            s.execute("INSERT INTO g SELECT 100000 + i, point(" + rnd.nextInt(300) + " + i % 7, " + rnd.nextInt(300)
                    + " + i % 5) FROM generate_series(1, 600) i");
            s.execute("CHECKPOINT"); // from here the first change of each page is a real full-page write
            // VACUUM: leaves emptied entirely are deleted (PAGE_DELETE); a second VACUUM once no snapshot can see them puts
            // them in the free space map, and splits reuse them (PAGE_REUSE).
            s.execute("DELETE FROM g WHERE p[0] < 500 OR id % 3 = 0");
            s.execute("VACUUM g");
            // A deleted page is recyclable once its delete xid is older than every snapshot;
            // VACUUM again (bounded) until one is in the index's free space map.
            s.execute("CREATE EXTENSION pg_freespacemap");
            long free = 0;
            for (int i = 0; i < 20 && free == 0; i++) {
                WalOracle.scalar(s, "SELECT txid_current()");
                WalOracle.scalar(s, "SELECT txid_current()");
                s.execute("VACUUM g");
                free = Long.parseLong(WalOracle.scalar(s, "SELECT count(*) FROM pg_freespace('g_p') WHERE avail > 0"));
            }
            assertThat(free).as("deleted GiST pages in the free space map").isPositive();
            s.execute("INSERT INTO g SELECT 200000 + i, point((i * 7919) % 500, (i * 104729) % 1000) FROM generate_series(1, 4000) i");
            return RedoOracleRun.endOfWork(pg);
        }
    }
}
