package dev.strata.cli.bench;

import dev.strata.control.storage.BranchTarget;
import dev.strata.cli.local.ClusterLayout;
import dev.strata.cli.local.LocalCluster;
import dev.strata.pgcore.fs.FileTrees;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresBinaries;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.testing.Bench;
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
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Branch and restore times against the database's size (run by bench/branch.sh; issue 16's
 * goals: branch create p50 &lt; 100 ms and flat in size, restore to the endpoint answering at the
 * restored point &lt; 3 s locally).
 *
 * <p>Per size, per round:
 * <ul>
 *   <li><b>branch create</b>: {@code createBranch} at main's head (pageserver timeline +
 *       safekeeper timelines + the durable branch record);</li>
 *   <li><b>baseline</b>, measured in the same round: what a user of stock PostgreSQL 17 runs to
 *       get a writable copy of a database, {@code CREATE DATABASE ... TEMPLATE ... STRATEGY
 *       FILE_COPY} on a stock server holding the same table (a checkpoint and a file copy: it
 *       copies the data, which a branch does not; it makes no new server, which a branch does
 *       with its compute);</li>
 *   <li><b>branch to first row</b>: create plus the first query through the proxy on the new
 *       endpoint (a compute's cold start: election, basebackup, PostgreSQL start);</li>
 *   <li><b>restore</b>: {@code restore main --to <time before the round's insert>} until a
 *       query through the proxy answers with the restored row count.</li>
 * </ul>
 * Options: {@code --sizes-mb 100,1024} {@code --rounds 10}.
 */
public final class BranchBench {

    private record Result(int round, String what, double ms) {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = Bench.options("bench/branch.sh", Map.of("sizes-mb", "100,1024", "rounds", "10"),
                args);
        int rounds = Integer.parseInt(opt.get("rounds"));
        List<String> report = new ArrayList<>();
        for (String size : opt.get("sizes-mb").split(",")) {
            report.addAll(runSize(Long.parseLong(size.strip()), rounds));
        }
        System.out.println();
        report.forEach(System.out::println);
    }

    private static List<String> runSize(long sizeMb, int rounds) throws Exception {
        Path dir = Files.createTempDirectory("strata-branch-bench-");
        List<Result> results = new ArrayList<>();
        LocalCluster.Options options = new LocalCluster.Options(0, false, Duration.ofHours(1));
        try (LocalCluster c = LocalCluster.start(new ClusterLayout(dir), options, s -> System.out.println("  " + s));
             PostgresServer stock = PostgresServer.builder().binaries(PostgresBinaries.resolve())
                     .dataDir(dir.resolve("stock")).setting("max_wal_size", "4GB").build().start()) {
            Lsn end;
            try (Connection conn = connect(c, "main")) {
                end = load(conn, sizeMb);
            }
            try (Connection conn = DriverManager.getConnection(stock.jdbcUrl("postgres"), stock.user(),
                    stock.password())) {
                load(conn, sizeMb);
            }
            c.pageserver().access(c.auth().computeToken(c.timeline(), "bench")).awaitLsn(c.timeline(), end,
                    Duration.ofMinutes(30));
            System.out.printf("size %d MB loaded on Strata and on the stock server; %d rounds%n", sizeMb, rounds);
            for (int r = 0; r < rounds; r++) {
                long t0 = System.nanoTime();
                c.createBranch("b" + r, "main", BranchTarget.HEAD);
                results.add(new Result(r, "branch", ms(t0)));

                try (Connection conn = DriverManager.getConnection(stock.jdbcUrl("template1"), stock.user(),
                        stock.password()); Statement s = conn.createStatement()) {
                    t0 = System.nanoTime();
                    s.execute("CREATE DATABASE copy" + r + " TEMPLATE postgres STRATEGY FILE_COPY");
                    results.add(new Result(r, "template-copy", ms(t0)));
                    s.execute("DROP DATABASE copy" + r);
                }

                t0 = System.nanoTime();
                c.createBranch("f" + r, "main", BranchTarget.HEAD);
                firstRow(c, "f" + r, -1);
                results.add(new Result(r, "branch-first-row", ms(t0)));
                c.deleteBranch("f" + r);

                // restore: main back to before this round's insert
                Instant before;
                long rowsBefore;
                try (Connection conn = connect(c, "main"); Statement s = conn.createStatement()) {
                    rowsBefore = count(s);
                    try (ResultSet rs = s.executeQuery("SELECT clock_timestamp()")) {
                        rs.next();
                        before = rs.getTimestamp(1).toInstant();
                    }
                    Thread.sleep(20);
                    s.execute("INSERT INTO bench SELECT -g, 'r' FROM generate_series(1, 10) g WHERE " + r + " >= 0");
                }
                t0 = System.nanoTime();
                c.restore("main", new BranchTarget.AtTime(before), null);
                firstRow(c, "main", rowsBefore);
                results.add(new Result(r, "restore", ms(t0)));
                var restarted = c.compute("main").started();
                // Round 0 follows the load at once: its pages were written within the checkpoint
                // interval before the points it branches and restores at, so its basebackups carry
                // them (docs/basebackup.md, the hint-bit rule); later rounds show the steady state.
                System.out.printf("round %d%s: branch %.0f ms, template copy %.0f ms, branch to first row %.0f ms, "
                        + "restore %.0f ms (its compute start: %s)%n", r, r == 0 ? " (right after the load)" : "",
                        at(results, r, "branch"),
                        at(results, r, "template-copy"), at(results, r, "branch-first-row"), at(results, r, "restore"),
                        restarted == null ? "not running" : restarted.breakdown());
            }
        } finally {
            FileTrees.deleteRecursively(dir);
        }
        List<Double> ratios = Bench.perRoundRatios(results, Result::round, x -> x.what().equals("template-copy"),
                x -> x.what().equals("branch"), Result::ms);
        return List.of(
                String.format("size %d MB, %d rounds:", sizeMb, rounds),
                String.format("  branch create: p50 %.0f ms, p99 %.0f ms (goal p50 < 100 ms)", pct(results, "branch", 50),
                        pct(results, "branch", 99)),
                String.format("  stock CREATE DATABASE .. TEMPLATE (FILE_COPY): p50 %.0f ms", pct(results, "template-copy", 50)),
                "  branch / template copy, median of per-round ratios: " + Bench.ratioSummary(ratios),
                String.format("  branch to first row on its endpoint (compute cold start): p50 %.0f ms, p99 %.0f ms",
                        pct(results, "branch-first-row", 50), pct(results, "branch-first-row", 99)),
                String.format("  restore to a time, to the endpoint answering at that point: p50 %.0f ms, p99 %.0f ms "
                        + "(goal < 3000 ms)", pct(results, "restore", 50), pct(results, "restore", 99)));
    }

    private static double at(List<Result> results, int round, String what) {
        return results.stream().filter(x -> x.round() == round && x.what().equals(what)).findFirst()
                .map(Result::ms).orElse(Double.NaN);
    }

    private static double ms(long t0) {
        return (System.nanoTime() - t0) / 1e6;
    }

    private static double pct(List<Result> results, String what, int p) {
        return ComputeStartBench.pct(results.stream().filter(x -> x.what().equals(what)).map(Result::ms).toList(), p);
    }

    /** Connects through the proxy to the branch and checks the row count (-1: any). */
    private static void firstRow(LocalCluster c, String branch, long expectedRows) throws SQLException {
        try (Connection conn = connect(c, branch); Statement s = conn.createStatement()) {
            long n = count(s);
            if (expectedRows >= 0 && n != expectedRows) {
                throw new IllegalStateException("branch " + branch + " has " + n + " rows, expected " + expectedRows);
            }
        }
    }

    private static long count(Statement s) throws SQLException {
        try (ResultSet rs = s.executeQuery("SELECT count(*) FROM bench")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** COPY of generated rows (~1 kB each) until about {@code sizeMb} of table; returns the WAL end. */
    private static Lsn load(Connection conn, long sizeMb) throws Exception {
        try (Statement s = conn.createStatement()) {
            s.execute("CREATE TABLE bench (id bigint, pad text)");
            ComputeStartBench.copyRows(conn, sizeMb, false);
            try (ResultSet rs = s.executeQuery("SELECT pg_current_wal_lsn()")) {
                rs.next();
                return Lsn.parse(rs.getString(1));
            }
        }
    }

    private static Connection connect(LocalCluster c, String branch) throws SQLException {
        URI u = URI.create(c.connectionString(branch));
        String[] userInfo = u.getRawUserInfo().split(":", 2);
        Properties p = new Properties();
        p.setProperty("user", userInfo[0]);
        p.setProperty("password", URLDecoder.decode(userInfo[1], StandardCharsets.UTF_8));
        p.setProperty("options", URLDecoder.decode(u.getRawQuery().substring("options=".length()),
                StandardCharsets.UTF_8));
        p.setProperty("connectTimeout", "120");
        return DriverManager.getConnection("jdbc:postgresql://" + u.getHost() + ":" + u.getPort() + u.getPath(), p);
    }
}
