package dev.strata.safekeeper.it;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.testing.Bench;
import dev.strata.safekeeper.election.Proposer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Issue 3's benchmark: pgbench against one PG17 compute whose commits wait for {@code ANY 2} of
 * (A) three stock PG17 standbys streaming straight from it, or (B) our three safekeepers. Both
 * set-ups run side by side on this machine with identical compute settings; pgbench runs
 * alternate A, B, A, B, ... against them, and the medians and their ratio (B/A) are printed.
 *
 * <p>In the {@code it} package so it reuses the test fixtures ({@link SafekeeperCluster},
 * {@link Standby}) as they are. Run it through {@code bench/safekeeper-commit.sh}.
 *
 * <pre>
 * CommitBench [--duration 30] [--clients 8] [--threads 2] [--scale 10] [--rounds 2] [--warmup 10]
 *             [--builtin simple-update] [--pgbench /usr/bin/pgbench] [--dir bench/out/safekeeper-commit]
 *             [--only AB]   (A or B alone: for profiling one side; both are still set up)
 * </pre>
 */
public final class CommitBench {

    private static final Pattern TPS = Pattern.compile("^tps = ([0-9.]+)", Pattern.MULTILINE);
    private static final Pattern LATENCY = Pattern.compile("^latency average = ([0-9.]+) ms", Pattern.MULTILINE);

    private record Result(String setup, int round, double tps, double latencyMs) {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> defaults = new LinkedHashMap<>();
        defaults.put("duration", "30");
        defaults.put("clients", "8");
        defaults.put("threads", "2");
        defaults.put("scale", "10");
        defaults.put("rounds", "2");
        defaults.put("warmup", "10");
        defaults.put("builtin", "simple-update");
        defaults.put("pgbench", "/usr/bin/pgbench");
        defaults.put("dir", "bench/out/safekeeper-commit");
        defaults.put("only", "AB");
        Map<String, String> opt = Bench.options("CommitBench", defaults, args);
        int rounds = Integer.parseInt(opt.get("rounds"));
        Path root = Bench.freshDirectory(opt.get("dir"));

        List<Result> results = new ArrayList<>();
        long t0 = System.nanoTime();
        Map<String, String> settings = new TreeMap<>();
        try (SafekeeperCluster sks = SafekeeperCluster.start(root.resolve("sk"), 3)) {
            // One settings map for both computes: the safekeepers' names are sk-1..3 and so are
            // the standbys' application_names, so 'ANY 2 ("sk-1", "sk-2", "sk-3")' fits both.
            settings.putAll(sks.computeSettings());
            try (PostgresServer computeA = PostgresServer.builder().settings(settings).start();
                 PostgresServer computeB = PostgresServer.builder().settings(settings).start()) {
                pgbenchInit(opt, computeA);
                pgbenchInit(opt, computeB);

                // (A) three stock standbys from base backups of compute A.
                List<PostgresServer> standbys = new ArrayList<>();
                try {
                    for (int i = 1; i <= 3; i++) {
                        Path data = root.resolve("standby-" + i);
                        Standby.baseBackup(computeA, data);
                        standbys.add(startStandby(data, computeA, "sk-" + i));
                    }
                    awaitSyncStandbys(computeA, 3);

                    // (B) our three safekeepers, streaming compute B from the start of a fresh segment.
                    query(computeB, "SELECT pg_switch_wal()");
                    Lsn from = SafekeeperCluster.currentLsn(computeB);
                    TimelineId tl = sks.createTimeline(computeB, from);
                    Proposer proposer = sks.proposer(tl);
                    Proposer.Result elected = proposer.elect();
                    proposer.streamFrom(SafekeeperCluster.address(elected, computeB));
                    awaitSyncStandbys(computeB, 3);
                    System.err.printf("set-up done in %.0f s%n", (System.nanoTime() - t0) / 1e9);

                    // Unmeasured warm-up of both sides: caches, and the safekeepers' JIT, which a
                    // long-running service has long finished; a cold JVM would be measured otherwise.
                    if (Integer.parseInt(opt.get("warmup")) > 0) {
                        Map<String, String> warm = new java.util.HashMap<>(opt);
                        warm.put("duration", opt.get("warmup"));
                        run(warm, "A warm-up", 0, computeA);
                        run(warm, "B warm-up", 0, computeB);
                    }
                    for (int r = 1; r <= rounds; r++) {
                        if (opt.get("only").contains("A")) {
                            results.add(run(opt, "A standbys", r, computeA));
                        }
                        if (opt.get("only").contains("B")) {
                            results.add(run(opt, "B safekeepers", r, computeB));
                        }
                    }
                    System.err.println("A replication: " + replicationState(computeA));
                    System.err.println("B replication: " + replicationState(computeB));
                } finally {
                    for (PostgresServer s : standbys) {
                        s.close();
                    }
                }
            }
        } finally {
            dev.strata.pgcore.fs.FileTrees.deleteRecursively(root.resolve("standby-1"));
            dev.strata.pgcore.fs.FileTrees.deleteRecursively(root.resolve("standby-2"));
            dev.strata.pgcore.fs.FileTrees.deleteRecursively(root.resolve("standby-3"));
        }
        report(opt, settings, results, (System.nanoTime() - t0) / 1e9);
    }

    private static PostgresServer startStandby(Path data, PostgresServer primary, String name) {
        try {
            Files.writeString(data.resolve("standby.signal"), "");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        String conninfo = "host=" + primary.host() + " port=" + primary.port() + " user=" + primary.user()
                + " password=" + primary.password() + " application_name=" + name + " sslmode=disable";
        // Stock settings otherwise: fsync = on, synchronous_commit = on, hot_standby = on.
        return PostgresServer.builder()
                .dataDir(data)
                .user(primary.user())
                .password(primary.password())
                .setting("primary_conninfo", conninfo)
                .setting("max_prepared_transactions", "10")
                .start();
    }

    private static void pgbenchInit(Map<String, String> opt, PostgresServer compute) throws Exception {
        // No standby or safekeeper is attached yet: these commits must not wait for a quorum.
        String out = exec(List.of(opt.get("pgbench"), "-i", "-q", "-s", opt.get("scale"), compute.connectionUri("postgres")),
                Map.of("PGOPTIONS", "-c synchronous_commit=local"), 600);
        if (out == null) {
            throw new IllegalStateException("pgbench -i failed");
        }
        query(compute, "CHECKPOINT");
    }

    private static Result run(Map<String, String> opt, String setup, int round, PostgresServer compute) throws Exception {
        query(compute, "CHECKPOINT");
        List<String> cmd = List.of(opt.get("pgbench"), "-b", opt.get("builtin"), "-c", opt.get("clients"), "-j", opt.get("threads"),
                "-T", opt.get("duration"), "-n", compute.connectionUri("postgres"));
        String out = exec(cmd, Map.of(), Integer.parseInt(opt.get("duration")) + 120);
        Matcher tps = TPS.matcher(out);
        Matcher lat = LATENCY.matcher(out);
        if (!tps.find() || !lat.find()) {
            throw new IllegalStateException("cannot parse pgbench output:\n" + out);
        }
        Result r = new Result(setup, round, Double.parseDouble(tps.group(1)), Double.parseDouble(lat.group(1)));
        System.err.printf("round %d %-14s tps %9.1f  latency %7.3f ms%n", round, setup, r.tps, r.latencyMs);
        return r;
    }

    private static void report(Map<String, String> opt, Map<String, String> settings, List<Result> results, double seconds) {
        Predicate<Result> a = r -> r.setup.startsWith("A");
        Predicate<Result> b = r -> r.setup.startsWith("B");
        double tpsA = Bench.median(results, a, Result::tps);
        double tpsB = Bench.median(results, b, Result::tps);
        double latA = Bench.median(results, a, Result::latencyMs);
        double latB = Bench.median(results, b, Result::latencyMs);
        StringBuilder s = new StringBuilder();
        s.append("== safekeeper commit benchmark (issue 3) ==\n");
        s.append(String.format("pgbench -b %s -c %s -j %s -T %s, scale %s; %s s unmeasured warm-up each, then %s rounds alternating A,B; total %.0f s%n",
                opt.get("builtin"), opt.get("clients"), opt.get("threads"), opt.get("duration"), opt.get("scale"), opt.get("warmup"),
                opt.get("rounds"), seconds));
        s.append("compute settings (both): ").append(settings).append('\n');
        s.append("A: 3 stock PG17 standbys (streaming from the compute, fsync=on, application_name sk-1..3)\n");
        s.append("B: 3 Strata safekeepers (separate JVMs on loopback, fsync per group commit)\n\n");
        s.append(String.format("%-5s %-14s %10s %14s%n", "round", "setup", "tps", "latency ms"));
        for (Result r : results) {
            s.append(String.format("%-5d %-14s %10.1f %14.3f%n", r.round, r.setup, r.tps, r.latencyMs));
        }
        s.append(String.format("%nmedian %-13s %10.1f %14.3f%n", "A standbys", tpsA, latA));
        s.append(String.format("median %-13s %10.1f %14.3f%n", "B safekeepers", tpsB, latB));
        s.append("median of per-round ratios safekeepers/standbys: tps ")
                .append(Bench.ratioSummary(Bench.perRoundRatios(results, Result::round, a, b, Result::tps)))
                .append(", mean latency ")
                .append(Bench.ratioSummary(Bench.perRoundRatios(results, Result::round, a, b, Result::latencyMs)))
                .append(" (goal: tps >= 1.0x)\n");
        System.out.print(s);
    }

    /** Waits until {@code n} synchronous candidates stream from {@code compute} and a test commit returns. */
    private static void awaitSyncStandbys(PostgresServer compute, int n) throws Exception {
        long deadline = System.currentTimeMillis() + 120_000;
        String state = "";
        while (System.currentTimeMillis() < deadline) {
            state = replicationState(compute);
            if (state.chars().filter(c -> c == '|').count() >= n
                    && Arrays.stream(state.split(";")).filter(x -> x.contains("streaming") && x.contains("quorum")).count() >= n) {
                query(compute, "CREATE TABLE IF NOT EXISTS bench_probe (x int); INSERT INTO bench_probe VALUES (1)");
                return;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("only " + state + " stream from " + compute.port() + "; log:\n" + compute.logTail(30));
    }

    private static String replicationState(PostgresServer compute) throws Exception {
        StringBuilder sb = new StringBuilder();
        try (Connection c = DriverManager.getConnection(compute.jdbcUrl("postgres"));
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT application_name, state, sync_state, flush_lag FROM pg_stat_replication ORDER BY 1")) {
            while (rs.next()) {
                sb.append(rs.getString(1)).append('|').append(rs.getString(2)).append('|').append(rs.getString(3))
                        .append("|flush_lag=").append(rs.getString(4)).append(';');
            }
        }
        return sb.toString();
    }

    private static void query(PostgresServer pg, String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres")); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    private static String exec(List<String> cmd, Map<String, String> env, int timeoutSeconds) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        try {
            StringBuilder out = new StringBuilder();
            Thread reader = Thread.ofPlatform().start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        synchronized (out) {
                            out.append(line).append('\n');
                        }
                    }
                } catch (IOException ignored) {
                    // process gone
                }
            });
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                throw new IllegalStateException(cmd.getFirst() + " did not finish within " + timeoutSeconds + " s");
            }
            reader.join(5_000);
            synchronized (out) {
                if (p.exitValue() != 0) {
                    throw new IllegalStateException(cmd.getFirst() + " exited with " + p.exitValue() + ":\n" + out);
                }
                return out.toString();
            }
        } finally {
            p.destroyForcibly();
        }
    }

}
