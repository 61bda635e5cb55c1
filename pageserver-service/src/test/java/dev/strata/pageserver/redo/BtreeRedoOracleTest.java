package dev.strata.pageserver.redo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.redo.btree.BtreeRecords;
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

    /** Btree record types with a routine that changes pages: each must be verified at least once. */
    private static final String[] REQUIRED = {
        "Btree/INSERT_LEAF", "Btree/INSERT_UPPER", "Btree/INSERT_META", "Btree/INSERT_POST", "Btree/SPLIT_L",
        "Btree/SPLIT_R", "Btree/DEDUP", "Btree/VACUUM", "Btree/DELETE", "Btree/MARK_PAGE_HALFDEAD",
        "Btree/UNLINK_PAGE", "Btree/UNLINK_PAGE_META", "Btree/NEWROOT", "Btree/META_CLEANUP", "Sequence/LOG",
    };

    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void javaBtreeRedoMatchesEveryConsistencyImage(@TempDir Path dir) throws Exception {
        try (PostgresServer pg = WalOracle.consistencyCheckingPrimary().start()) {
            RedoOracleRun.Result result = RedoOracleRun.run(pg, dir, "btree", brokenInsertLeaf(),
                    BtreeRedoOracleTest::workload);
            result.log(log, "wal_level=replica, wal_consistency_checking=all, workload of BtreeRedoOracleTest",
                    "a deliberately broken INSERT_LEAF routine");
            result.assertAllAgree(REQUIRED, 1);
            RedoOracle.Counts reuse = result.counts().get("Btree/REUSE_PAGE");
            assertThat(reuse).as("Btree/REUSE_PAGE never seen: no deleted page was recycled").isNotNull();
            assertThat(reuse.seen()).isPositive();
            result.assertFaultCaughtOnlyAt("Btree/INSERT_LEAF");
        }
    }

    /**
     * The default routines, but INSERT_LEAF flips the first key byte of the tuple it inserted
     * (the byte after the 8-byte index tuple header), which no mask hides. A fake only to
     * inject a fault.
     */
    private static Map<Integer, RmgrRedo> brokenInsertLeaf() {
        return RedoOracleRun.withFault(RmgrId.BTREE, (r, b, page) -> {
            if ((r.info() & 0xF0) == BtreeRecords.XLOG_BTREE_INSERT_LEAF && b.id() == 0) {
                int offnum = BtreeRecords.insertOffnum(r.mainDataBuffer());
                page[ItemId.offset(page, offnum) + 8] ^= 0x5A;
            }
        });
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
            WalOracle.scalar(s, "SELECT count(v) FROM u WHERE id > 0");
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
            WalOracle.scalar(s, "SELECT txid_current()");
            WalOracle.scalar(s, "SELECT txid_current()");
            s.execute("VACUUM w");
            s.execute("INSERT INTO w SELECT g, repeat(md5(((g * 7919) % 2003)::text), 6) FROM generate_series(2001, 4000) g");
            s.execute("VACUUM w");
            s.execute("SELECT nextval('seq') FROM generate_series(1, 100)");
            return RedoOracleRun.endOfWork(pg);
        }
    }
}
