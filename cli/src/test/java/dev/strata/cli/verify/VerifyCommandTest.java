package dev.strata.cli.verify;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.cli.local.AdminServer;
import dev.strata.cli.local.BranchAdmin;
import dev.strata.cli.local.ClusterLayout;
import dev.strata.cli.local.LocalCluster;
import dev.strata.cli.local.PrivateFiles;
import dev.strata.pgcore.lsn.Lsn;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code strata verify} on a running cluster, as the command runs it (admin port, operator
 * token, the branch's verify target): after a workload on a table with btree, hash, GiST and
 * BRIN indexes, spread over several flushed delta layers until compaction wrote image layers,
 * and after a kill -9 and restart of the pageserver (so the pages come from layer files), the
 * stock standby finds 0 mismatches, and the blocks compared are exactly the relations' sizes; so
 * does one stopped in the past, before a second compute started (both re-derive the timeline from
 * its first compute's start).
 * A fault only a test can inject (the pageserver read at an earlier LSN than the standby's) is
 * reported block by block with exit code 1; bad input gets a clear error and no standby.
 */
@Timeout(value = 12, unit = TimeUnit.MINUTES)
class VerifyCommandTest {

    private static final Pattern LAYERS = Pattern.compile("layers: (\\d+) delta, (\\d+) image");
    private static final String USER_RELATIONS = "FROM pg_class WHERE oid >= 16384 AND relkind IN ('r', 'i', 't', 'm', 'S') "
            + "AND relpersistence = 'p' AND pg_relation_filenode(oid) IS NOT NULL";

    @TempDir
    Path tmp;

    private record Run(int code, String out, String err) {
    }

    @Test
    void verifiesPagesFromLayerFilesAfterCompactionAndARestartAndReportsAnInjectedMismatch() throws Exception {
        ClusterLayout layout = new ClusterLayout(tmp.resolve("cluster"));
        LocalCluster.Options options = new LocalCluster.Options(0, true, Duration.ofSeconds(300)).withSafekeepersInProcess();
        try (LocalCluster c = LocalCluster.start(layout, options, s -> { });
             AdminServer admin = adminPort(c, layout)) {
            Lsn beforeLastUpdate;
            long oid;
            try (Connection conn = connect(c); Statement s = conn.createStatement()) {
                // no autovacuum: the sizes the test expects stay what they are when it measures them
                s.execute("CREATE TABLE items (id int PRIMARY KEY, k int, pos point, body text) "
                        + "WITH (autovacuum_enabled = false, toast.autovacuum_enabled = false)");
                s.execute("CREATE INDEX items_hash ON items USING hash (k)");
                s.execute("CREATE INDEX items_gist ON items USING gist (pos)");
                s.execute("CREATE INDEX items_brin ON items USING brin (id) WITH (pages_per_range = 4)");
                s.execute("CREATE SEQUENCE items_seq");
                // The pageserver freezes an open layer held past its flush interval at the next
                // record: while waiting for a flush the test keeps WAL coming with small commits.
                s.execute("CREATE TABLE ticks (t int) WITH (autovacuum_enabled = false)");
                int images = layers(c)[1];
                // Rounds of changes, each flushed to a delta layer by the pageserver's idle flush,
                // until compaction stacked enough deltas to write image layers.
                for (int round = 0; round < 8 && layers(c)[1] <= images; round++) {
                    int deltas = layers(c)[0];
                    s.execute("INSERT INTO items SELECT g, g % 97, point(g % 50, g / 50), repeat(md5(g::text), 3) "
                            + "FROM generate_series(" + (round * 2000 + 1) + ", " + (round + 1) * 2000 + ") g");
                    s.execute("UPDATE items SET k = k + 1, body = body || 'x' WHERE id % 7 = " + round);
                    s.execute("DELETE FROM items WHERE id % 31 = " + round);
                    s.execute("SELECT nextval('items_seq') FROM generate_series(1, 40)");
                    s.execute("VACUUM items");
                    waitFor(() -> {
                        s.execute("INSERT INTO ticks VALUES (1)");
                        return layers(c)[0] > deltas;
                    }, Duration.ofSeconds(90), "a flushed delta layer");
                }
                waitFor(() -> {
                    s.execute("INSERT INTO ticks VALUES (1)");
                    return layers(c)[1] > images;
                }, Duration.ofSeconds(90), "image layers from compaction");
                oid = Long.parseLong(scalar(s, "SELECT 'items'::regclass::oid"));
                beforeLastUpdate = Lsn.parse(scalar(s, "SELECT pg_current_wal_flush_lsn()"));
                // A change that keeps every size (a few rows, same length, into space VACUUM freed).
                s.execute("UPDATE items SET body = upper(body) WHERE id IN (40, 41, 42)");
            }
            // A new compute (a new term): its start is a second base a standby can begin at.
            c.stopCompute();
            c.startCompute();
            // The pageserver dies and comes back: what it serves now comes from its layer files.
            c.restartPageserver();
            waitFor(() -> c.pageserver().status(c.timeline()).getFirst().startsWith("active"), Duration.ofSeconds(60),
                    "the pageserver active again");

            long expected;
            try (Connection conn = connect(c); Statement s = conn.createStatement()) {
                expected = Long.parseLong(scalar(s, "SELECT sum(pg_relation_size(oid, 'main') / 8192 + CASE WHEN "
                        + "relkind IN ('i', 'S') THEN 0 ELSE pg_relation_size(oid, 'vm') / 8192 END) " + USER_RELATIONS));
            }
            long t0 = System.nanoTime();
            Run all = verify(layout, UnaryOperator.identity());
            System.out.printf("strata verify in %d ms, layers %s:%n%s%s", (System.nanoTime() - t0) / 1_000_000,
                    c.pageserver().status(c.timeline()), all.err(), all.out());
            assertThat(all.code()).as("%s", all).isZero();
            assertThat(all.out()).as("%s", all).contains("0 mismatches").doesNotContain("mismatch:")
                    .contains("blocks {BRIN=", "BTREE=", "GIST=", "HASH=", "HEAP=", "SEQUENCE=", "VISIBILITY_MAP=");
            assertThat(blocks(all.out())).as("blocks compared = the user relations' sizes: %s", all).isEqualTo(expected)
                    .isGreaterThan(100);
            assertThat(all.err()).contains("compared " + expected + " / " + expected + " blocks");
            assertNoStandbyLeft(layout);

            // One relation, JSON.
            long itemsBlocks;
            try (Connection conn = connect(c); Statement s = conn.createStatement()) {
                itemsBlocks = Long.parseLong(scalar(s, "SELECT (pg_relation_size(" + oid + ", 'main') + "
                        + "pg_relation_size(" + oid + ", 'vm')) / 8192"));
            }
            Run one = verify(layout, UnaryOperator.identity(), "--relation", Long.toString(oid), "--json");
            assertThat(one.code()).as("%s", one).isZero();
            assertThat(one.out()).as("%s", one).contains("\"relations\": 1", "\"blocks\": " + itemsBlocks,
                    "\"mismatches\": []");

            // The fault: the pageserver read before the last UPDATE, the standby after it.
            Run wrong = verify(layout, lsn -> beforeLastUpdate, "--relation", Long.toString(oid));
            System.out.printf("with the fault:%n%s", wrong.out());
            assertThat(wrong.code()).as("%s", wrong).isEqualTo(1);
            assertThat(wrong.out()).as("%s", wrong).containsPattern(
                    "mismatch: postgres\\.items \\(oid " + oid + "\\) main blk \\d+: differs at byte \\d+ \\(HEAP mask\\): "
                            + "standby [0-9a-f]+, pageserver [0-9a-f]+");
            assertNoStandbyLeft(layout);

            // In the past, before the last UPDATE and the second compute's start: the standby
            // begins at the first compute's start and stops there; the pageserver agrees, and
            // read at the head instead (the fault) it does not.
            Lsn head;
            try (Connection conn = connect(c); Statement s = conn.createStatement()) {
                head = Lsn.parse(scalar(s, "SELECT pg_current_wal_flush_lsn()"));
            }
            Run past = verify(layout, UnaryOperator.identity(), "--at", beforeLastUpdate.toString(), "--relation",
                    Long.toString(oid));
            System.out.printf("in the past:%n%s%s", past.err(), past.out());
            assertThat(past.code()).as("%s", past).isZero();
            Lsn pastAt = Lsn.parse(matched(past.out(), "at ([0-9A-F]+/[0-9A-F]+), re-derived from"));
            Lsn pastBase = Lsn.parse(matched(past.out(), "re-derived from ([0-9A-F]+/[0-9A-F]+)"));
            assertThat(pastAt).as("the standby stopped at the last record before %s", beforeLastUpdate)
                    .isLessThanOrEqualTo(beforeLastUpdate).isGreaterThan(pastBase);
            assertThat(past.out()).contains("0 mismatches", "blocks {");
            Run pastWrong = verify(layout, lsn -> head, "--at", beforeLastUpdate.toString(), "--relation",
                    Long.toString(oid));
            assertThat(pastWrong.code()).as("%s", pastWrong).isEqualTo(1);
            assertThat(pastWrong.out()).contains("mismatch: postgres.items (oid " + oid + ") main blk");
            // Now, too, the standby began at the first compute's start, not the second's.
            assertThat(matched(all.out(), "re-derived from ([0-9A-F]+/[0-9A-F]+)")).isEqualTo(pastBase.toString());
            assertNoStandbyLeft(layout);

            // Bad input.
            Run noBranch = verify(layout, UnaryOperator.identity(), "--branch", "nope");
            assertThat(noBranch.code()).isEqualTo(2);
            assertThat(noBranch.err()).contains("no branch 'nope'");
            Run future = verify(layout, UnaryOperator.identity(), "--at", "FF/0");
            assertThat(future.code()).isEqualTo(2);
            assertThat(future.err()).contains("LSN FF/0 is in the future");
            Run beforeFirst = verify(layout, UnaryOperator.identity(), "--at", "0/100");
            assertThat(beforeFirst.code()).isEqualTo(2);
            assertThat(beforeFirst.err()).contains("LSN 0/100 is before the first compute start of branch 'main'")
                    .doesNotContain("a stock PostgreSQL 17 standby");
            Run noRelation = verify(layout, UnaryOperator.identity(), "--relation", "999999");
            assertThat(noRelation.code()).isEqualTo(2);
            assertThat(noRelation.err()).contains("no relation with OID [999999]");
            assertNoStandbyLeft(layout);
        }
        Run notRunning = verify(layout, UnaryOperator.identity());
        assertThat(notRunning.code()).isEqualTo(3);
        assertThat(notRunning.err()).contains("no cluster is running");
    }

    @Test
    void usageErrors() {
        Run r = run(new String[] {"verify", "--at", "yesterday"}, UnaryOperator.identity());
        assertThat(r.code()).isEqualTo(64);
        assertThat(r.err()).contains("--at takes an LSN");
        r = run(new String[] {"verify", "--relation", "t"}, UnaryOperator.identity());
        assertThat(r.code()).isEqualTo(64);
        assertThat(r.err()).contains("--relation takes relation OIDs");
        r = run(new String[] {"verify", "--relation"}, UnaryOperator.identity());
        assertThat(r.code()).isEqualTo(64);
        assertThat(r.err()).contains("--relation needs at least one OID");
        r = run(new String[] {"verify", "--bogus"}, UnaryOperator.identity());
        assertThat(r.code()).isEqualTo(64);
        VerifyCommand.Args a = VerifyCommand.parse(new String[] {"verify", "--relation", "16384", "16390", "--at", "now",
                "--branch", "dev", "--json"}, Map.of("STRATA_DATA_DIR", "/x"));
        assertThat(a.relations()).containsExactly(16384L, 16390L);
        assertThat(a.at()).isNull();
        assertThat(a.branch()).isEqualTo("dev");
        assertThat(a.json()).isTrue();
        assertThat(a.dataDir()).isEqualTo(Path.of("/x"));
    }

    /** What `strata up` does for other shells: the operator token and the admin port file. */
    private static AdminServer adminPort(LocalCluster c, ClusterLayout layout) throws Exception {
        c.auth().writeAdminToken();
        AdminServer admin = new AdminServer(c.auth().verifier(), c::statusReport, () -> { }, new BranchAdmin(c));
        PrivateFiles.createPrivateDirectory(layout.runDir());
        PrivateFiles.writeSecret(layout.adminPortFile(), Integer.toString(admin.port()));
        return admin;
    }

    private Run verify(ClusterLayout layout, UnaryOperator<Lsn> fault, String... options) {
        String[] argv = Stream.concat(Stream.of("verify", "--data-dir", layout.root().toString()), Stream.of(options))
                .toArray(String[]::new);
        return run(argv, fault);
    }

    private static Run run(String[] argv, UnaryOperator<Lsn> fault) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new VerifyCommand(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), fault).run(argv);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static String matched(String out, String regex) {
        Matcher m = Pattern.compile(regex).matcher(out);
        assertThat(m.find()).as("%s in %s", regex, out).isTrue();
        return m.group(1);
    }

    private static long blocks(String out) {
        Matcher m = Pattern.compile("relations in \\[[^]]*], (\\d+) blocks").matcher(out);
        assertThat(m.find()).as("a summary line in %s", out).isTrue();
        return Long.parseLong(m.group(1));
    }

    private static void assertNoStandbyLeft(ClusterLayout layout) throws Exception {
        try (Stream<Path> files = Files.list(layout.runDir())) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("verify-"));
        }
    }

    /** The pageserver's delta and image layer counts of branch main. */
    private static int[] layers(LocalCluster c) {
        String status = String.join("\n", c.pageserver().status(c.timeline()));
        Matcher m = LAYERS.matcher(status);
        assertThat(m.find()).as("layer counts in %s", status).isTrue();
        return new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))};
    }

    private static Connection connect(LocalCluster c) throws SQLException {
        URI u = URI.create(c.compute().connectionUri("postgres"));
        String[] userInfo = u.getRawUserInfo().split(":", 2);
        Properties p = new Properties();
        p.setProperty("user", userInfo[0]);
        p.setProperty("password", URLDecoder.decode(userInfo[1], StandardCharsets.UTF_8));
        p.setProperty("socketTimeout", "120");
        return DriverManager.getConnection("jdbc:postgresql://" + u.getHost() + ":" + u.getPort() + u.getPath(), p);
    }

    private static String scalar(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private interface Condition {
        boolean holds() throws Exception;
    }

    private static void waitFor(Condition c, Duration timeout, String what) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!c.holds()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no " + what + " within " + timeout.toSeconds() + " s");
            }
            Thread.sleep(200);
        }
    }
}
