package dev.strata.pageserver.redo;

import dev.strata.pageserver.redo.page.ItemId;
import dev.strata.pageserver.redo.page.Page;
import dev.strata.pageserver.redo.spgist.SpgistRedo;
import dev.strata.pageserver.testing.WalOracle;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.wal.BlockReference;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.RmgrId;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The redo oracle for SP-GiST against a real PostgreSQL 17 with
 * {@code wal_consistency_checking=all} ({@link RedoOracleRun}): a seeded workload over point
 * (quad tree and kd tree), text (radix tree with long shared prefixes), inet, box and range
 * SP-GiST indexes, built empty and filled row by row, then deletes and VACUUMs, that reaches
 * every SP-GiST record type. 0 mismatches; every type verified.
 *
 * <p>The variants within a type (a root split, a leaf page initialised, an inner tuple moved to
 * another page, a vacuum that moves and re-chains leaf tuples) are counted on the blocks the
 * oracle compared and logged.
 *
 * <p>A second receiver ingests the same WAL with an ADD_LEAF routine broken on purpose (a fault
 * in test code only): every ADD_LEAF the good oracle verified must be a mismatch there, and
 * nothing else.
 *
 * <p>The seed is {@code -Dstrata.redo.oracle.seed=N} (default 14).
 */
class SpgistRedoOracleTest {

    private static final Logger log = LoggerFactory.getLogger(SpgistRedoOracleTest.class);

    private static final String[] REQUIRED = {
        "SPGist/ADD_LEAF", "SPGist/MOVE_LEAFS", "SPGist/ADD_NODE", "SPGist/SPLIT_TUPLE", "SPGist/PICKSPLIT",
        "SPGist/VACUUM_LEAF", "SPGist/VACUUM_ROOT", "SPGist/VACUUM_REDIRECT",
    };

    @Test
    @Timeout(value = 600, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void javaSpgistRedoMatchesEveryConsistencyImage(@TempDir Path dir) throws Exception {
        long seed = Long.getLong("strata.redo.oracle.seed", 14);
        Map<String, LongAdder> variants = new ConcurrentHashMap<>();
        try (PostgresServer pg = WalOracle.consistencyCheckingPrimary().start()) {
            RedoOracleRun.Result result = RedoOracleRun.run(pg, dir, "spgist", brokenAddLeaf(variants),
                    p -> workload(p, new Random(seed)));
            result.log(log, "seed " + seed + ", wal_consistency_checking=all, workload of SpgistRedoOracleTest",
                    "a deliberately broken ADD_LEAF routine");
            Map<String, Long> seen = new TreeMap<>();
            variants.forEach((k, v) -> seen.put(k, v.sum()));
            log.info("SP-GiST variants among the compared blocks: {}", seen);
            result.assertAllAgree(REQUIRED, 1);
            result.assertFaultCaughtOnlyAt("SPGist/ADD_LEAF");
        }
    }

    /**
     * The default routines, but ADD_LEAF flips a byte of the leaf tuple's heap pointer on block 0
     * and of the parent inner tuple's size on block 1 (an ADD_LEAF whose leaf is a real full-page
     * write is verified by its parent alone). Counts the variants of the blocks it sees.
     */
    private static Map<Integer, RmgrRedo> brokenAddLeaf(Map<String, LongAdder> variants) {
        return RedoOracleRun.withFault(RmgrId.SPGIST, (r, b, page) -> {
            countVariants(r, b, variants);
            if ((r.info() & 0xF0) != SpgistRedo.XLOG_SPGIST_ADD_LEAF) {
                return;
            }
            byte[] main = r.mainData();
            if (b.id() == 0) {
                page[ItemId.offset(page, Page.u16(main, 2)) + 8] ^= 0x5A; // heapPtr's bi_lo
            } else {
                page[ItemId.offset(page, Page.u16(main, 6)) + 4] ^= 0x5A; // the inner tuple's size
            }
        });
    }

    private static void countVariants(DecodedRecord r, BlockReference b, Map<String, LongAdder> variants) {
        byte[] main = r.mainData();
        switch (r.info() & 0xF0) {
            case SpgistRedo.XLOG_SPGIST_ADD_LEAF -> {
                if (b.id() == 0) {
                    RedoOracleRun.countVariant(variants, main[0] != 0 ? "ADD_LEAF new page" : "ADD_LEAF");
                    if (Page.u16(main, 2) == Page.u16(main, 4)) {
                        RedoOracleRun.countVariant(variants, "ADD_LEAF replacing a dead tuple");
                    }
                } else {
                    RedoOracleRun.countVariant(variants, "ADD_LEAF parent link");
                }
            }
            case SpgistRedo.XLOG_SPGIST_MOVE_LEAFS -> RedoOracleRun.countVariant(variants, "MOVE_LEAFS block " + b.id());
            case SpgistRedo.XLOG_SPGIST_ADD_NODE -> RedoOracleRun.countVariant(variants, r.block(1) == null ? "ADD_NODE in place"
                    : "ADD_NODE moved, block " + b.id() + ", parent on " + main[5]);
            case SpgistRedo.XLOG_SPGIST_SPLIT_TUPLE -> RedoOracleRun.countVariant(variants, main[5] != 0 ? "SPLIT_TUPLE same page"
                    : "SPLIT_TUPLE block " + b.id());
            case SpgistRedo.XLOG_SPGIST_PICKSPLIT -> RedoOracleRun.countVariant(variants, (main[0] != 0 ? "PICKSPLIT root" : "PICKSPLIT")
                    + " block " + b.id());
            case SpgistRedo.XLOG_SPGIST_VACUUM_LEAF -> {
                RedoOracleRun.countVariant(variants, "VACUUM_LEAF");
                if (Page.u16(main, 4) > 0) {
                    RedoOracleRun.countVariant(variants, "VACUUM_LEAF moving tuples");
                }
                if (Page.u16(main, 6) > 0) {
                    RedoOracleRun.countVariant(variants, "VACUUM_LEAF re-chaining");
                }
            }
            case SpgistRedo.XLOG_SPGIST_VACUUM_REDIRECT -> RedoOracleRun.countVariant(variants, Page.u16(main, 2) != 0
                    ? "VACUUM_REDIRECT removing placeholders" : "VACUUM_REDIRECT");
            default -> {
            }
        }
    }

    /**
     * Runs the workload in database {@code redo}; returns a record boundary at or after its end.
     * Indexes are created on empty tables so every tuple is inserted (and logged) one by one.
     */
    private static Lsn workload(PostgresServer pg, Random rnd) throws Exception {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl("redo"));
             Statement s = c.createStatement()) {
            // Points: the root leaf fills and splits (PICKSPLIT root), leaves fill and move their
            // chains (MOVE_LEAFS) or split (PICKSPLIT), new leaves are linked (ADD_LEAF parent).
            s.execute("CREATE TABLE pt (id int, p point)");
            s.execute("CREATE INDEX pt_quad ON pt USING spgist (p)");
            s.execute("CREATE INDEX pt_kd ON pt USING spgist (p kd_point_ops)");
            // Text: long shared prefixes split inner tuples' prefixes (SPLIT_TUPLE), new first
            // letters add nodes (ADD_NODE), in place or moved when the inner tuple outgrows its page.
            s.execute("CREATE TABLE tx (id int, t text)");
            s.execute("CREATE INDEX tx_t ON tx USING spgist (t)");
            s.execute("CREATE TABLE ip (id int, a inet)");
            s.execute("CREATE INDEX ip_a ON ip USING spgist (a)");
            s.execute("CREATE TABLE bx (id int, b box, r int4range)");
            s.execute("CREATE INDEX bx_b ON bx USING spgist (b)");
            s.execute("CREATE INDEX bx_r ON bx USING spgist (r)");
            // A small one whose root stays a leaf (VACUUM_ROOT).
            s.execute("CREATE TABLE sm (id int, p point)");
            s.execute("CREATE INDEX sm_p ON sm USING spgist (p)");
            s.execute("INSERT INTO sm SELECT g, point(g, g) FROM generate_series(1, 50) g");

            int id = 0;
            for (int round = 0; round < 20; round++) {
                StringBuilder pts = new StringBuilder();
                StringBuilder txt = new StringBuilder();
                StringBuilder ips = new StringBuilder();
                StringBuilder bxs = new StringBuilder();
                for (int i = 0; i < 250; i++) {
                    id++;
                    sep(pts).append("(").append(id).append(", point(").append(rnd.nextInt(10000)).append(", ")
                            .append(rnd.nextInt(10000)).append("))");
                    sep(txt).append("(").append(id).append(", '").append(text(rnd, round)).append("')");
                    sep(ips).append("(").append(id).append(", '").append(rnd.nextInt(256)).append('.')
                            .append(rnd.nextInt(4)).append('.').append(rnd.nextInt(256)).append('.')
                            .append(rnd.nextInt(256)).append(rnd.nextInt(3) == 0 ? "/" + (8 + rnd.nextInt(24)) : "")
                            .append("')");
                    int x = rnd.nextInt(1000);
                    int y = rnd.nextInt(1000);
                    int lo = rnd.nextInt(10000);
                    sep(bxs).append("(").append(id).append(", box(point(").append(x).append(',').append(y)
                            .append("), point(").append(x + rnd.nextInt(50)).append(',').append(y + rnd.nextInt(50))
                            .append(")), int4range(").append(lo).append(',').append(lo + 1 + rnd.nextInt(100))
                            .append("))");
                }
                s.execute("INSERT INTO pt VALUES " + pts);
                s.execute("INSERT INTO tx VALUES " + txt);
                s.execute("INSERT INTO ip VALUES " + ips);
                s.execute("INSERT INTO bx VALUES " + bxs);
                if (round == 6) {
                    s.execute("CHECKPOINT"); // later first changes are real full-page writes, then replays
                }
            }

            // Inner tuples with long prefixes, then values that leave them inside the prefix:
            // many SPLIT_TUPLE, some with the postfix tuple on another page.
            s.execute("CREATE TABLE tp (id int, t text)");
            s.execute("CREATE INDEX tp_t ON tp USING spgist (t)");
            String[] stems = new String[60];
            for (int k = 0; k < stems.length; k++) {
                stems[k] = letters(rnd, 40 + rnd.nextInt(40), "abcdefghij");
            }
            for (int phase = 0; phase < 2; phase++) {
                StringBuilder values = new StringBuilder();
                for (String stem : stems) {
                    for (int i = 0; i < (phase == 0 ? 60 : 15); i++) {
                        String v = phase == 0 ? stem + letters(rnd, 3, "xyz")
                                : stem.substring(0, 1 + rnd.nextInt(stem.length() - 1)) + letters(rnd, 4, "klmnop");
                        sep(values).append("(").append(++id).append(", '").append(v).append("')");
                    }
                }
                s.execute("INSERT INTO tp VALUES " + values);
            }

            // Deletes all over (VACUUM_LEAF: dead tuples, placeholders, moves and re-chaining), then
            // a second VACUUM once the redirects are old (VACUUM_REDIRECT), and inserts that reuse
            // placeholders and dead tuples.
            s.execute("DELETE FROM pt WHERE id % 3 = 0 OR id BETWEEN 1000 AND 2000");
            s.execute("DELETE FROM tx WHERE id % 4 = 1");
            s.execute("DELETE FROM ip WHERE id % 5 = 2");
            s.execute("DELETE FROM bx WHERE id % 2 = 0");
            s.execute("DELETE FROM sm WHERE id % 2 = 0");
            s.execute("VACUUM pt, tx, ip, bx, sm");
            s.execute("INSERT INTO pt SELECT 100000 + g, point(g * 7 % 10000, g * 13 % 10000)"
                    + " FROM generate_series(1, 800) g");
            s.execute("INSERT INTO sm SELECT 1000 + g, point(g, -g) FROM generate_series(1, 10) g");
            s.execute("DELETE FROM pt WHERE id % 3 = 1");
            s.execute("DELETE FROM tx WHERE id % 4 = 2");
            s.execute("DELETE FROM sm WHERE id > 1000 AND id % 2 = 1"); // a root leaf changed since the checkpoint
            s.execute("VACUUM pt, tx, ip, bx, sm");
            s.execute("VACUUM pt, tx, ip, bx, sm");
            return RedoOracleRun.endOfWork(pg);
        }
    }

    private static StringBuilder sep(StringBuilder sb) {
        return sb.isEmpty() ? sb : sb.append(", ");
    }

    private static String letters(Random rnd, int n, String alphabet) {
        StringBuilder sb = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            sb.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
        }
        return sb.toString();
    }

    /**
     * Text with long shared prefixes: a few stems of 40 to 80 letters, a varying part, and from
     * round 5 on letters from a wider alphabet (new nodes on existing inner tuples).
     */
    private static String text(Random rnd, int round) {
        String[] stems = {"the-quick-brown-fox-jumps-over-the-lazy-dog-again-and-again",
            "the-quick-brown-fox-jumps-over-the-lazy-cat", "lorem-ipsum-dolor-sit-amet-consectetur-adipiscing",
            "lorem-ipsum-dolor-sit-amet-consectetur-adipiscing-elit-sed-do-eiusmod", "a"};
        StringBuilder sb = new StringBuilder(stems[rnd.nextInt(stems.length)]);
        int cut = rnd.nextInt(sb.length() + 1);
        sb.setLength(Math.max(cut, 1));
        String alphabet = round < 5 ? "abcdef" : "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        int n = 1 + rnd.nextInt(12);
        for (int i = 0; i < n; i++) {
            sb.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
        }
        return sb.toString();
    }
}
