package dev.strata.pageserver.redo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.redo.gin.GinRedo;
import dev.strata.pageserver.redo.page.ItemId;
import dev.strata.pageserver.redo.page.Page;
import dev.strata.pageserver.testing.WalOracle;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.wal.BlockReference;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.RmgrId;
import java.io.StringReader;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The redo oracle for GIN against a real PostgreSQL 17 with {@code wal_consistency_checking=all}
 * ({@link RedoOracleRun}): a seeded workload over int[], text[], tsvector and jsonb (jsonb_ops
 * and jsonb_path_ops) GIN indexes, with fastupdate on and off, that reaches every GIN record
 * type. 0 mismatches; every type that changes a page without a full-page write verified.
 * VACUUM_PAGE carries a forced full-page image of its only block (nothing to replay), so it must
 * only have been seen; SPLIT's halves and root are forced images too, but a split of an
 * internal page also clears its child's GIN_INCOMPLETE_SPLIT, which is verified.
 *
 * <p>The variants within a type (entry or posting tree, leaf or internal page, the segment
 * actions of a posting tree leaf, the three ways UPDATE_META_PAGE extends the pending list)
 * are counted on the blocks the oracle compared; each must have been reached.
 *
 * <p>A second receiver ingests the same WAL with an INSERT routine broken on purpose (a fault
 * in test code only): every INSERT the good oracle verified must be a mismatch there, and
 * nothing else.
 *
 * <p>The seed is {@code -Dstrata.redo.oracle.seed=N} (default 14).
 */
class GinRedoOracleTest {

    private static final Logger log = LoggerFactory.getLogger(GinRedoOracleTest.class);

    private static final String[] REQUIRED = {
        "Gin/CREATE_PTREE", "Gin/INSERT", "Gin/SPLIT", "Gin/VACUUM_DATA_LEAF_PAGE", "Gin/DELETE_PAGE",
        "Gin/UPDATE_META_PAGE", "Gin/INSERT_LISTPAGE", "Gin/DELETE_LISTPAGE",
    };
    private static final String[] VARIANTS = {
        "INSERT entry leaf", "INSERT entry leaf replacing its tuple", "INSERT entry internal",
        "INSERT data leaf", "INSERT data internal", "segment ADDITEMS", "segment INSERT", "segment REPLACE",
        "segment DELETE", "UPDATE_META_PAGE tail tuples", "UPDATE_META_PAGE new sublist",
        "UPDATE_META_PAGE first sublist", "INSERT_LISTPAGE not the tail", "SPLIT internal",
    };

    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void javaGinRedoMatchesEveryConsistencyImage(@TempDir Path dir) throws Exception {
        long seed = Long.getLong("strata.redo.oracle.seed", 14);
        Map<String, LongAdder> variants = new ConcurrentHashMap<>();
        try (PostgresServer pg = WalOracle.consistencyCheckingPrimary().start()) {
            RedoOracleRun.Result result = RedoOracleRun.run(pg, dir, "gin", brokenInsert(variants),
                    p -> workload(p, new Random(seed)));
            result.log(log, "seed " + seed + ", wal_consistency_checking=all, workload of GinRedoOracleTest",
                    "a deliberately broken INSERT routine");
            Map<String, Long> seen = new TreeMap<>();
            variants.forEach((k, v) -> seen.put(k, v.sum()));
            log.info("GIN variants among the compared blocks: {}", seen);
            result.assertAllAgree(REQUIRED, 1);
            RedoOracle.Counts vacuum = result.counts().get("Gin/VACUUM_PAGE");
            assertThat(vacuum).as("Gin/VACUUM_PAGE never seen: VACUUM changed no entry page").isNotNull();
            assertThat(vacuum.seen()).isPositive();
            for (String v : VARIANTS) {
                assertThat(seen.getOrDefault(v, 0L)).as(v + " never compared: the workload no longer reaches it")
                        .isPositive();
            }
            result.assertFaultCaughtOnlyAt("Gin/INSERT");
        }
    }

    /**
     * The default routines, but INSERT flips a byte of what it inserted on block 0 (the first
     * posting item or segment of a posting tree page, the tuple of an entry page) and leaves
     * the child's GIN_INCOMPLETE_SPLIT set on block 1 (an INSERT into an internal page whose
     * block 0 is a real full-page write is verified by its child alone). Counts the
     * variants of the blocks it sees on the way: the oracle replays exactly the blocks it
     * compares.
     */
    private static Map<Integer, RmgrRedo> brokenInsert(Map<String, LongAdder> variants) {
        return RedoOracleRun.withFault(RmgrId.GIN, (r, b, page) -> {
            countVariants(r, b, variants);
            if ((r.info() & 0xF0) == GinRedo.XLOG_GIN_INSERT && b.id() == 0) {
                int flags = r.mainDataBuffer().getShort(0) & 0xFFFF;
                if ((flags & GinRedo.GIN_INSERT_ISDATA) != 0) {
                    page[32] ^= 0x5A; // GinDataPageGetData
                } else {
                    int offnum = b.data()[0] & 0xFF | (b.data()[1] & 0xFF) << 8;
                    page[ItemId.offset(page, offnum) + 8] ^= 0x5A; // after IndexTupleData (8 bytes)
                }
            } else if ((r.info() & 0xF0) == GinRedo.XLOG_GIN_INSERT && b.id() == 1) {
                page[Page.special(page) + 6] |= 0x40; // the child's GIN_INCOMPLETE_SPLIT left set
            }
        });
    }

    private static void countVariants(DecodedRecord r, BlockReference b, Map<String, LongAdder> variants) {
        int info = r.info() & 0xF0;
        byte[] main = r.mainData();
        switch (info) {
            case GinRedo.XLOG_GIN_INSERT -> {
                if (b.id() != 0) {
                    return;
                }
                int flags = Page.u16(main, 0);
                boolean leaf = (flags & GinRedo.GIN_INSERT_ISLEAF) != 0;
                if ((flags & GinRedo.GIN_INSERT_ISDATA) != 0) {
                    RedoOracleRun.countVariant(variants, leaf ? "INSERT data leaf" : "INSERT data internal");
                    if (leaf) {
                        countActions(b.data(), variants);
                    }
                } else {
                    RedoOracleRun.countVariant(variants, leaf ? "INSERT entry leaf" : "INSERT entry internal");
                    if (b.data()[2] != 0) {
                        RedoOracleRun.countVariant(variants, "INSERT entry leaf replacing its tuple");
                    }
                }
            }
            case GinRedo.XLOG_GIN_VACUUM_DATA_LEAF_PAGE -> countActions(b.data(), variants);
            case GinRedo.XLOG_GIN_SPLIT -> RedoOracleRun.countVariant(variants, "SPLIT internal");
            case GinRedo.XLOG_GIN_UPDATE_META_PAGE -> {
                if (b.id() == 1) {
                    RedoOracleRun.countVariant(variants, Page.u32(main, 80) > 0 ? "UPDATE_META_PAGE tail tuples"
                            : "UPDATE_META_PAGE new sublist");
                } else if (r.block(1) == null) {
                    RedoOracleRun.countVariant(variants, "UPDATE_META_PAGE first sublist");
                }
            }
            case GinRedo.XLOG_GIN_INSERT_LISTPAGE -> {
                if (Page.u32(main, 0) != -1) {
                    RedoOracleRun.countVariant(variants, "INSERT_LISTPAGE not the tail");
                }
            }
            default -> {
            }
        }
    }

    /** The segment actions of a ginxlogRecompressDataLeaf. */
    private static void countActions(byte[] data, Map<String, LongAdder> variants) {
        int n = Page.u16(data, 0);
        int at = 2;
        for (int i = 0; i < n; i++) {
            int action = data[at + 1] & 0xFF;
            at += 2;
            switch (action) {
                case 1 -> RedoOracleRun.countVariant(variants, "segment DELETE");
                case 2, 3 -> {
                    RedoOracleRun.countVariant(variants, action == 2 ? "segment INSERT" : "segment REPLACE");
                    at += 8 + ((Page.u16(data, at + 6) + 1) & ~1);
                }
                case 4 -> {
                    RedoOracleRun.countVariant(variants, "segment ADDITEMS");
                    at += 2 + 6 * Page.u16(data, at);
                }
                default -> throw new IllegalStateException("unknown GIN segment action " + action);
            }
        }
    }

    /**
     * Runs the workload in database {@code redo}; returns a record boundary at or after its end.
     * Each step names the record types it is there for.
     */
    private static Lsn workload(PostgresServer pg, Random rnd) throws Exception {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl("redo"));
             Statement s = c.createStatement()) {
            // Posting trees, built by the pending list's cleanup: 20 000 rows go to the pending
            // list of an int[] index (UPDATE_META_PAGE adding tuples to the tail, new sublists:
            // INSERT_LISTPAGE), then gin_clean_pending_list moves them into the tree at once
            // (DELETE_LISTPAGE). Key 1 is in every row, keys 2 and 3 in every other: each gets
            // a posting tree (CREATE_PTREE) too big for one page, so the root leaf splits
            // (SPLIT) and so do leaves after it, adding downlinks to the new root (INSERT data
            // internal). 5 000 keys of four rows each fill entry leaves that split (INSERT entry
            // internal);
            // the 97 keys of about 200 rows each stay posting lists inside their entries.
            s.execute("CREATE TABLE p (id int, a int[])");
            s.execute("CREATE INDEX p_a ON p USING gin (a) WITH (fastupdate = on, gin_pending_list_limit = 16384)");
            StringBuilder rows = new StringBuilder();
            for (int id = 1; id <= 20000; id++) {
                rows.append(id).append("\t{1,").append(2 + id % 2).append(',').append(100 + id / 4).append(',')
                        .append(50000 + id % 97).append("}\n");
            }
            ((PGConnection) c.unwrap(PGConnection.class)).getCopyAPI()
                    .copyIn("COPY p FROM STDIN", new StringReader(rows.toString()));
            WalOracle.scalar(s, "SELECT gin_clean_pending_list('p_a')");

            // Without the pending list, one row at a time: items appended to the posting trees'
            // last segments (segment ADDITEMS, segment INSERT when one is full) and entries
            // whose posting list grows (INSERT entry leaf replacing its tuple).
            s.execute("ALTER INDEX p_a SET (fastupdate = off)");
            for (int i = 0; i < 3; i++) {
                s.execute("INSERT INTO p SELECT 20000 + g, ARRAY[1, 2 + g % 2, 50000 + g % 97] FROM generate_series("
                        + (1 + i * 100) + ", " + (100 + i * 100) + ") g");
            }
            s.execute("CHECKPOINT"); // from here the first change of each page is a real full-page write

            // Deletes: a range that empties whole posting tree leaves (DELETE_PAGE) and rows all
            // over (VACUUM_DATA_LEAF_PAGE: segment REPLACE and DELETE; VACUUM_PAGE for the entry
            // pages whose posting lists lose items).
            s.execute("DELETE FROM p WHERE id BETWEEN 2000 AND 17000 OR id % 7 = 0");
            s.execute("VACUUM p");
            // The same leaves again, now without a full-page write: ranges that cover whole
            // segments (VACUUM_DATA_LEAF_PAGE with segment DELETE) and rows inside others.
            s.execute("DELETE FROM p WHERE id BETWEEN 100 AND 1500 OR id BETWEEN 17500 AND 19000 OR id % 11 = 0");
            s.execute("VACUUM p");
            // New rows reuse the freed heap space: their items go into the middle of the trees
            // (segment REPLACE, INSERT of a new segment between others).
            s.execute("INSERT INTO p SELECT 30000 + g, ARRAY[1, 2 + g % 2, 50000 + g % 97, 200000 + g]"
                    + " FROM generate_series(1, 400) g");

            // Long text keys: eight entries fill a page, so entry leaves and internal pages split
            // after a few hundred rows (SPLIT of internal pages, root splits on two levels).
            s.execute("CREATE TABLE t (id int, k text[])");
            s.execute("CREATE INDEX t_k ON t USING gin (k) WITH (fastupdate = off)");
            for (int round = 0; round < 6; round++) {
                StringBuilder values = new StringBuilder();
                for (int i = 0; i < 50; i++) {
                    values.append(values.isEmpty() ? "" : ", ").append("(").append(round * 50 + i)
                            .append(", ARRAY['").append(longKey(rnd)).append("', 'common'])");
                }
                s.execute("INSERT INTO t VALUES " + values);
            }

            // tsvector and jsonb, one small statement at a time with a small pending list for
            // the tsvector and the jsonb_ops index: the first row into an empty pending list
            // (UPDATE_META_PAGE first sublist), rows appended to the tail, rows that do not fit
            // it (new sublist), a few rows with hundreds of words whose sublist is more than one
            // page (INSERT_LISTPAGE not the tail), cleanups when the list passes 64 kB
            // (DELETE_LISTPAGE). jsonb_path_ops goes straight to the tree.
            s.execute("CREATE TABLE d (id int, tv tsvector, j jsonb)");
            s.execute("CREATE INDEX d_tv ON d USING gin (tv) WITH (fastupdate = on, gin_pending_list_limit = 64)");
            s.execute("CREATE INDEX d_j ON d USING gin (j) WITH (fastupdate = on, gin_pending_list_limit = 64)");
            s.execute("CREATE INDEX d_jp ON d USING gin (j jsonb_path_ops) WITH (fastupdate = off)");
            int id = 0;
            for (int round = 0; round < 30; round++) {
                StringBuilder values = new StringBuilder();
                for (int i = 0; i < 40; i++) {
                    int words = round % 10 == 9 && i == 0 ? 700 : 3 + rnd.nextInt(8);
                    StringBuilder tv = new StringBuilder();
                    for (int w = 0; w < words; w++) {
                        tv.append(w == 0 ? "" : " ").append("w").append(words > 100 ? w : rnd.nextInt(3000));
                    }
                    values.append(values.isEmpty() ? "" : ", ").append("(").append(++id).append(", '")
                            .append(tv).append("', '{\"k\": ").append(rnd.nextInt(50)).append(", \"tags\": [")
                            .append(rnd.nextInt(400)).append(", ").append(rnd.nextInt(400)).append("], \"n\": {\"x\": ")
                            .append(id).append("}}')");
                }
                s.execute("INSERT INTO d VALUES " + values);
            }
            s.execute("DELETE FROM d WHERE id % 3 = 0");
            s.execute("VACUUM d");
            return RedoOracleRun.endOfWork(pg);
        }
    }

    /** A random key of 900 letters: about eight entry tuples to a page. */
    private static String longKey(Random rnd) {
        StringBuilder sb = new StringBuilder(900);
        for (int i = 0; i < 900; i++) {
            sb.append((char) ('a' + rnd.nextInt(26)));
        }
        return sb.toString();
    }
}
