package dev.strata.pageserver.redo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.redo.hash.HashRedo;
import dev.strata.pageserver.redo.page.ItemId;
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
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The redo oracle for hash indexes against a real PostgreSQL 17 with
 * {@code wal_consistency_checking=all}: a seeded workload that reaches every hash record type,
 * streamed through {@link dev.strata.pageserver.ingest.WalReceiver} into
 * {@link dev.strata.pageserver.ingest.WalIngest} ({@link RedoOracleRun}). Every record of every
 * manager with a routine must agree with its image (0 mismatches); each hash type that changes
 * a page without a full-page write must have been verified. SPLIT_PAGE carries a forced
 * full-page image of its only block (there is nothing to replay), so it must only have been seen.
 *
 * <p>A second receiver ingests the same WAL with an INSERT routine broken on purpose (a fault
 * in test code only): every INSERT the good oracle verified must be a mismatch there, and
 * nothing else.
 *
 * <p>The seed is {@code -Dstrata.redo.oracle.seed=N} (default 14).
 */
class HashRedoOracleTest {

    private static final Logger log = LoggerFactory.getLogger(HashRedoOracleTest.class);

    private static final String[] REQUIRED = {
        "Hash/INIT_META_PAGE", "Hash/INIT_BITMAP_PAGE", "Hash/INSERT", "Hash/ADD_OVFL_PAGE",
        "Hash/SPLIT_ALLOCATE_PAGE", "Hash/SPLIT_COMPLETE", "Hash/MOVE_PAGE_CONTENTS", "Hash/SQUEEZE_PAGE",
        "Hash/DELETE", "Hash/SPLIT_CLEANUP", "Hash/UPDATE_META_PAGE", "Hash/VACUUM_ONE_PAGE",
    };
    /** Keys with many rows each: chains of overflow pages, and splits that move a full page. */
    private static final int[] DUPLICATES = {3, 17, 101, 4242, 777_777, -5};

    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void javaHashRedoMatchesEveryConsistencyImage(@TempDir Path dir) throws Exception {
        long seed = Long.getLong("strata.redo.oracle.seed", 14);
        try (PostgresServer pg = WalOracle.consistencyCheckingPrimary().start()) {
            RedoOracleRun.Result result = RedoOracleRun.run(pg, dir, "hash", brokenInsert(),
                    p -> workload(p, new Random(seed)));
            result.log(log, "seed " + seed + ", wal_consistency_checking=all, workload of HashRedoOracleTest",
                    "a deliberately broken INSERT routine");
            result.assertAllAgree(REQUIRED, 1);
            RedoOracle.Counts split = result.counts().get("Hash/SPLIT_PAGE");
            assertThat(split).as("Hash/SPLIT_PAGE never seen: no split filled a page of the new bucket").isNotNull();
            assertThat(split.seen()).isPositive();
            result.assertFaultCaughtOnlyAt("Hash/INSERT");
        }
    }

    /** The default routines, but INSERT flips the first byte of the hash key it inserted. */
    private static Map<Integer, RmgrRedo> brokenInsert() {
        return RedoOracleRun.withFault(RmgrId.HASH, (r, b, page) -> {
            if ((r.info() & 0xF0) == HashRedo.XLOG_HASH_INSERT && b.id() == 0) {
                int offnum = r.mainDataBuffer().getShort(0) & 0xFFFF;
                page[ItemId.offset(page, offnum) + 8] ^= 0x5A; // after IndexTupleData (8 bytes)
            }
        });
    }

    /**
     * Runs the workload in database {@code redo}; returns a record boundary at or after its end.
     * Each step names the record types it is there for.
     */
    private static Lsn workload(PostgresServer pg, Random rnd) throws Exception {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl("redo"));
             Statement s = c.createStatement()) {
            // An empty index (INIT_META_PAGE with 2 buckets, INIT_BITMAP_PAGE). Fill factor 10:
            // about 40 tuples a bucket before the table grows, so splits come early and often
            // (SPLIT_ALLOCATE_PAGE, SPLIT_COMPLETE, with new masks and new splitpoints). Random
            // keys spread over the buckets (INSERT); the duplicate keys make chains of overflow
            // pages (ADD_OVFL_PAGE), and a split that moves one of them to the new bucket fills
            // its page (SPLIT_PAGE).
            s.execute("CREATE TABLE h (id int, k int)");
            s.execute("CREATE INDEX h_k ON h USING hash (k) WITH (fillfactor = 10)");
            int id = 0;
            for (int round = 0; round < 12; round++) {
                StringBuilder values = new StringBuilder();
                for (int i = 0; i < 120; i++) {
                    values.append(values.isEmpty() ? "" : ", ").append("(").append(++id).append(", ")
                            .append(rnd.nextInt()).append(")");
                }
                for (int key : DUPLICATES) {
                    for (int i = 0; i < 70; i++) {
                        values.append(", (").append(++id).append(", ").append(key).append(")");
                    }
                }
                s.execute("INSERT INTO h VALUES " + values);
            }

            // Dead tuples marked by an index scan (LP_DEAD, without WAL); an insert into the full
            // first page of that chain removes them first (VACUUM_ONE_PAGE).
            for (int key : new int[] {DUPLICATES[0], DUPLICATES[2]}) {
                s.execute("DELETE FROM h WHERE k = " + key + " AND id % 3 = 0");
                s.execute("SET enable_seqscan = off");
                s.execute("SET enable_bitmapscan = off");
                WalOracle.scalar(s, "SELECT count(id) FROM h WHERE k = " + key);
                s.execute("RESET ALL");
                s.execute("INSERT INTO h SELECT 100000 + g, " + key + " FROM generate_series(1, 40) g");
            }
            s.execute("CHECKPOINT"); // from here the first change of each page is a real full-page write

            // VACUUM after deletes all over the chains: tuples go (DELETE), the old buckets of
            // the splits are cleaned (SPLIT_CLEANUP), the chains are squeezed: tuples move from
            // the last page to room on earlier ones (MOVE_PAGE_CONTENTS when a page fills,
            // SQUEEZE_PAGE when the last one is emptied and freed), and the tuple count is
            // stored (UPDATE_META_PAGE).
            s.execute("DELETE FROM h WHERE id % 5 IN (1, 2) OR (k = " + DUPLICATES[1] + " AND id % 7 <> 0)");
            s.execute("VACUUM h");
            // New overflow pages reuse the freed ones (ADD_OVFL_PAGE finding a free bit).
            for (int key : DUPLICATES) {
                s.execute("INSERT INTO h SELECT 200000 + g, " + key + " FROM generate_series(1, "
                        + (150 + rnd.nextInt(150)) + ") g");
            }
            s.execute("DELETE FROM h WHERE id % 2 = 0");
            s.execute("VACUUM h");

            // A hash index built on a table whose estimated size is large (rows of a rolled-back
            // COPY still fill its pages): the metapage starts with hundreds of buckets, in the
            // multi-phase splitpoint groups; the live rows are inserted by the build.
            s.execute("CREATE TABLE b (id int, k int)");
            c.setAutoCommit(false);
            StringBuilder rows = new StringBuilder();
            for (int i = 1; i <= 40000; i++) {
                rows.append(i).append('\t').append(i * 31).append('\n');
            }
            ((PGConnection) c.unwrap(PGConnection.class)).getCopyAPI()
                    .copyIn("COPY b FROM STDIN", new StringReader(rows.toString()));
            c.rollback();
            c.setAutoCommit(true);
            s.execute("INSERT INTO b SELECT g, g FROM generate_series(1, 300) g");
            s.execute("CREATE INDEX b_k ON b USING hash (k) WITH (fillfactor = 10)");
            s.execute("INSERT INTO b SELECT g, g * 7 FROM generate_series(301, 500) g");
            s.execute("CREATE EXTENSION pageinspect");
            assertThat(Long.parseLong(WalOracle.scalar(s, "SELECT maxbucket FROM hash_metapage_info(get_raw_page('b_k', 0))")))
                    .as("buckets of b_k at creation: past 512 the splitpoints have four phases").isGreaterThan(512);
            return RedoOracleRun.endOfWork(pg);
        }
    }
}
