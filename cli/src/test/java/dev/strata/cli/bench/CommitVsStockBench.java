package dev.strata.cli.bench;

import dev.strata.cli.local.ClusterLayout;
import dev.strata.cli.local.LocalCluster;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.testing.Bench;
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
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Issue 14's two "Done when" figures against stock PostgreSQL, in one run (bench/commit-vs-stock.sh):
 * pgbench TPS through the safekeepers against a stock single-node PG 17 with local fsync, and
 * WAL bytes per pgbench transaction against that same stock server.
 *
 * <ul>
 *   <li>A, the baseline: one stock PG 17 server, the same binary, {@code fsync=on},
 *       {@code synchronous_commit=on}, no standby, its own data directory on the same disk; every
 *       other setting copied from the running compute (its {@code pg_settings} from the
 *       configuration file), initdb with data checksums if the compute has them.</li>
 *   <li>B, Strata: the local cluster {@code strata up} runs (three safekeepers, the pageserver
 *       ingesting their WAL, S3Proxy), with the compute started by the compute agent, so its
 *       settings are {@code ComputeSettings.forCompute}: {@code fsync=off},
 *       {@code synchronous_standby_names = ANY 2 of the 3 safekeepers},
 *       {@code wal_consistency_checking} empty. By default the safekeepers and the pageserver run
 *       as their own JVMs ({@code --cluster-jvms separate}, as CommitBench runs the safekeepers);
 *       {@code --cluster-jvms one} runs them in this JVM as plain {@code strata up} does.
 *       pgbench connects to the compute directly (the proxy only relays bytes and is not the
 *       commit path).</li>
 * </ul>
 * After {@code pgbench -i} on both (and the pageserver caught up), an unmeasured warm-up of each,
 * then TPS rounds ({@code -T}) alternating A, B, then WAL rounds ({@code -t} per client, the same
 * transactions on both sides) alternating A, B; each after a CHECKPOINT on its server, with
 * {@code pg_current_wal_lsn()} before and after (and the WAL rounds split by resource manager with
 * pg_walinspect). Prints per-round TPS, mean latency, WAL bytes and CPU per transaction, the
 * medians, the medians of the per-round ratios B/A, and the CPU per component ({@link ProcessCpu}).
 */
public final class CommitVsStockBench {

    private static final Pattern TPS = Pattern.compile("^tps = ([0-9.]+)", Pattern.MULTILINE);
    private static final Pattern LATENCY = Pattern.compile("^latency average = ([0-9.]+) ms", Pattern.MULTILINE);
    private static final Pattern TXNS = Pattern.compile("^number of transactions actually processed: (\\d+)",
            Pattern.MULTILINE);
    /** Set by PostgresServer itself (address, port, socket) or deliberately different on A. */
    private static final Set<String> NOT_COPIED = Set.of("listen_addresses", "port", "unix_socket_directories",
            "fsync", "synchronous_commit", "synchronous_standby_names");
    private static final String TPS_GOAL = "tps >= 0.9x";
    private static final String WAL_GOAL = "WAL/txn <= 1.3x";

    /** Settings shown beside the configured ones: defaults on both, but they shape commits and WAL. */
    private static final List<String> SHOWN = List.of("shared_buffers", "checkpoint_timeout", "max_wal_size",
            "min_wal_size", "wal_buffers", "wal_compression", "wal_log_hints", "wal_sync_method", "wal_writer_delay",
            "wal_writer_flush_after", "commit_delay", "commit_siblings", "max_connections", "autovacuum",
            "data_checksums", "wal_segment_size", "block_size", "server_version");
    private static final String STOCK_DIR = "/stock/data";
    private static final String COMPUTE_DIR = "/computes/";

    /**
     * One pgbench run: {@code kind} "tps" (fixed duration) or "wal" (fixed transactions per client,
     * so that both sides run the same transactions after the same CHECKPOINT and write the same
     * full-page images: WAL per transaction after a checkpoint falls with the number of
     * transactions, so a fixed duration would charge the slower side more images per transaction).
     */
    private record Result(String setup, String kind, int round, double tps, double latencyMs, long transactions,
                          long walBytes, double seconds, ProcessCpu.Snapshot cpu, Map<String, long[]> rmgr) {
        double walPerTxn() {
            return transactions == 0 ? Double.NaN : (double) walBytes / transactions;
        }

        /** Cores used by a component over the run. */
        double cores(String component) {
            return cpu.byComponent().getOrDefault(component, 0.0) / seconds;
        }

        /** CPU milliseconds per transaction of a set of components. */
        double cpuMsPerTxn(Predicate<String> components) {
            return cpu.byComponent().entrySet().stream().filter(e -> components.test(e.getKey()))
                    .mapToDouble(Map.Entry::getValue).sum() * 1000 / transactions;
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> defaults = new LinkedHashMap<>();
        defaults.put("duration", "30");
        defaults.put("clients", "8");
        defaults.put("threads", "2");
        defaults.put("scale", "10");
        defaults.put("rounds", "3");
        defaults.put("warmup", "15");
        defaults.put("wal-transactions", "500");
        defaults.put("builtin", "tpcb-like");
        defaults.put("cluster-jvms", "separate");
        defaults.put("pgbench", "/usr/bin/pgbench");
        defaults.put("dir", "bench/out/commit-vs-stock");
        defaults.put("profile", "false");
        defaults.put("pageserver", "running");
        Map<String, String> opt = Bench.options("bench/commit-vs-stock.sh", defaults, args);
        if (!Set.of("separate", "one").contains(opt.get("cluster-jvms"))) {
            throw new IllegalArgumentException("--cluster-jvms is separate or one, got " + opt.get("cluster-jvms"));
        }
        if (!Set.of("running", "killed").contains(opt.get("pageserver"))) {
            throw new IllegalArgumentException("--pageserver is running or killed, got " + opt.get("pageserver"));
        }
        // killed: the pageserver JVM is killed once it has ingested pgbench -i, so B's rounds run
        // without its ingest, flushes and uploads (an experiment separating its cost: the compute
        // keeps its own data files and does not need it until its next start).
        boolean killPageserver = opt.get("pageserver").equals("killed");
        if (killPageserver && opt.get("cluster-jvms").equals("one")) {
            throw new IllegalArgumentException("--pageserver killed needs --cluster-jvms separate (its own JVM to kill)");
        }
        int rounds = Integer.parseInt(opt.get("rounds"));
        Path root = Bench.freshDirectory(opt.get("dir"));
        String loadBefore = loadAverage();
        long t0 = System.nanoTime();
        List<Result> results = new ArrayList<>();
        Map<String, String[]> settingsTable = new TreeMap<>();
        String catchUp;
        String hot;
        boolean separate = opt.get("cluster-jvms").equals("separate");
        LocalCluster.Options options = new LocalCluster.Options(0, separate, Duration.ofDays(1));
        try (LocalCluster cluster = LocalCluster.start(new ClusterLayout(root.resolve("cluster")), options,
                s -> System.err.println("  " + s))) {
            String computeUri = cluster.compute().connectionUri("postgres");
            String computeJdbc = jdbc(computeUri);
            Map<String, String> computeSettings = configured(computeJdbc);
            boolean checksums = "on".equals(show(computeJdbc, "data_checksums"));
            Map<String, String> stockSettings = new LinkedHashMap<>();
            computeSettings.forEach((k, v) -> {
                if (!NOT_COPIED.contains(k)) {
                    stockSettings.put(k, v);
                }
            });
            stockSettings.put("fsync", "on");
            stockSettings.put("synchronous_commit", "on");
            stockSettings.put("synchronous_standby_names", "");
            PostgresServer.Builder builder = PostgresServer.builder().dataDir(root.resolve("stock").resolve("data"))
                    .settings(stockSettings);
            if (checksums) {
                builder.initdbOption("--data-checksums");
            }
            try (PostgresServer stock = builder.start()) {
                String stockUri = stock.connectionUri("postgres");
                String stockJdbc = stock.jdbcUrl("postgres");
                for (String name : new java.util.TreeSet<>(union(computeSettings.keySet(), stockSettings.keySet()))) {
                    settingsTable.put(name, new String[] {show(stockJdbc, name), show(computeJdbc, name)});
                }
                for (String name : SHOWN) {
                    settingsTable.put(name, new String[] {show(stockJdbc, name), show(computeJdbc, name)});
                }

                pgbenchInit(opt, stockUri, stockJdbc);
                pgbenchInit(opt, computeUri, computeJdbc);
                Lsn end = currentLsn(computeJdbc);
                long t = System.nanoTime();
                cluster.pageserver().access(cluster.auth().computeToken(cluster.timeline(), "bench"))
                        .awaitLsn(cluster.timeline(), end, Duration.ofMinutes(20));
                System.err.printf("set-up done in %.0f s (pageserver caught up with pgbench -i in %.1f s)%n",
                        (System.nanoTime() - t0) / 1e9, (System.nanoTime() - t) / 1e9);
                if (killPageserver) {
                    cluster.pageserver().kill();
                    System.err.println("pageserver killed: B's rounds run without it");
                }

                if (Integer.parseInt(opt.get("warmup")) > 0) {
                    Map<String, String> warm = new LinkedHashMap<>(opt);
                    warm.put("duration", opt.get("warmup"));
                    run(warm, "A stock", "tps", 0, stockUri, stockJdbc);
                    run(warm, "B strata", "tps", 0, computeUri, computeJdbc);
                }
                for (int r = 1; r <= rounds; r++) {
                    results.add(run(opt, "A stock", "tps", r, stockUri, stockJdbc));
                    results.add(run(opt, "B strata", "tps", r, computeUri, computeJdbc));
                }
                for (int r = 1; r <= rounds; r++) {
                    results.add(run(opt, "A stock", "wal", r, stockUri, stockJdbc));
                    results.add(run(opt, "B strata", "wal", r, computeUri, computeJdbc));
                }
                hot = "updates, of which HOT (pg_stat_user_tables, whole run): A " + hotUpdates(stockJdbc) + "; B "
                        + hotUpdates(computeJdbc);
                if (killPageserver) {
                    catchUp = "the pageserver was killed after set-up (--pageserver killed): B ran without it";
                } else {
                    end = currentLsn(computeJdbc);
                    t = System.nanoTime();
                    cluster.pageserver().access(cluster.auth().computeToken(cluster.timeline(), "bench"))
                            .awaitLsn(cluster.timeline(), end, Duration.ofMinutes(20));
                    catchUp = String.format("the pageserver had ingested up to the compute's last LSN %.1f s after the last"
                            + " round", (System.nanoTime() - t) / 1e9);
                }
            }
        }
        report(opt, settingsTable, results, (System.nanoTime() - t0) / 1e9, loadBefore, loadAverage(), catchUp + "\n" + hot);
    }

    /** Updates and HOT updates per pgbench table since the server started. */
    private static String hotUpdates(String jdbc) throws Exception {
        StringBuilder sb = new StringBuilder();
        try (Connection c = DriverManager.getConnection(jdbc);
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"
                     + " WHERE relname IN ('pgbench_accounts', 'pgbench_tellers', 'pgbench_branches') ORDER BY relname")) {
            while (rs.next()) {
                sb.append(sb.isEmpty() ? "" : ", ").append(rs.getString(1).replace("pgbench_", "")).append(' ')
                        .append(rs.getLong(2)).append('/').append(rs.getLong(3)).append(" HOT");
            }
        }
        return sb.toString();
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> u = new java.util.HashSet<>(a);
        u.addAll(b);
        return u;
    }

    /**
     * The settings the compute's configuration files set (PostgreSQL's own names only: the
     * agent's {@code strata.*} placeholders mean nothing to a stock server).
     */
    private static Map<String, String> configured(String jdbc) throws Exception {
        Map<String, String> m = new TreeMap<>();
        try (Connection c = DriverManager.getConnection(jdbc);
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT name, current_setting(name) FROM pg_settings"
                     + " WHERE source = 'configuration file' AND name NOT LIKE '%.%'")) {
            while (rs.next()) {
                m.put(rs.getString(1), rs.getString(2));
            }
        }
        return m;
    }

    private static String show(String jdbc, String name) throws Exception {
        try (Connection c = DriverManager.getConnection(jdbc);
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT current_setting('" + name.replace("'", "''") + "', true)")) {
            rs.next();
            String v = rs.getString(1);
            return v == null ? "(unset)" : v;
        }
    }

    private static Lsn currentLsn(String jdbc) throws Exception {
        try (Connection c = DriverManager.getConnection(jdbc);
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT pg_current_wal_lsn()")) {
            rs.next();
            return Lsn.parse(rs.getString(1));
        }
    }

    private static void query(String jdbc, String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(jdbc); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /** A JDBC URL for a libpq URI {@code postgresql://user:password@host:port/db}. */
    static String jdbc(String libpqUri) {
        Matcher m = Pattern.compile("^postgres(?:ql)?://([^:]+):([^@]*)@([^/]+)/([^?]+)").matcher(libpqUri);
        if (!m.find()) {
            throw new IllegalArgumentException("not a libpq URI with user and password: "
                    + libpqUri.replaceAll(":[^:@/]*@", ":***@"));
        }
        return "jdbc:postgresql://" + m.group(3) + "/" + m.group(4) + "?user=" + m.group(1) + "&password=" + m.group(2)
                + "&sslmode=disable";
    }

    private static void pgbenchInit(Map<String, String> opt, String uri, String jdbc) throws Exception {
        exec(List.of(opt.get("pgbench"), "-i", "-q", "-s", opt.get("scale"), uri), 1200);
        query(jdbc, "CREATE EXTENSION IF NOT EXISTS pg_walinspect");
        query(jdbc, "CHECKPOINT");
    }

    /** Records, bytes (headers and data plus images) and image bytes per resource manager between two LSNs. */
    private static Map<String, long[]> walStats(String jdbc, Lsn from, Lsn to) throws Exception {
        Map<String, long[]> m = new TreeMap<>();
        try (Connection c = DriverManager.getConnection(jdbc);
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT \"resource_manager/record_type\", count, combined_size, fpi_size FROM pg_get_wal_stats('"
                     + from + "', '" + to + "', false) WHERE count > 0")) {
            while (rs.next()) {
                m.put(rs.getString(1), new long[] {rs.getLong(2), rs.getLong(3), rs.getLong(4)});
            }
        }
        return m;
    }

    private static Result run(Map<String, String> opt, String setup, String kind, int round, String uri, String jdbc)
            throws Exception {
        query(jdbc, "CHECKPOINT");
        Lsn before = currentLsn(jdbc);
        List<String> cmd = new ArrayList<>(List.of(opt.get("pgbench"), "-b", opt.get("builtin"), "-c", opt.get("clients"),
                "-j", opt.get("threads"), "-n"));
        if (kind.equals("tps")) {
            cmd.addAll(List.of("-T", opt.get("duration")));
        } else {
            cmd.addAll(List.of("-t", opt.get("wal-transactions")));
        }
        cmd.add(uri);
        ProcessCpu.Snapshot cpu0 = ProcessCpu.snapshot(STOCK_DIR, COMPUTE_DIR);
        long t0 = System.nanoTime();
        String out = exec(cmd, Integer.parseInt(opt.get("duration")) + 1800);
        double seconds = (System.nanoTime() - t0) / 1e9;
        ProcessCpu.Snapshot cpu = ProcessCpu.snapshot(STOCK_DIR, COMPUTE_DIR).minus(cpu0);
        Lsn after = currentLsn(jdbc);
        Matcher tps = TPS.matcher(out);
        Matcher lat = LATENCY.matcher(out);
        Matcher txns = TXNS.matcher(out);
        if (!tps.find() || !lat.find() || !txns.find()) {
            throw new IllegalStateException("cannot parse pgbench output:\n" + out);
        }
        // Per resource manager (pg_walinspect), read before the next CHECKPOINT may recycle the segments.
        Map<String, long[]> rmgr = Map.of();
        if (kind.equals("wal")) {
            try {
                rmgr = walStats(jdbc, before, after);
            } catch (java.sql.SQLException e) {
                System.err.println("pg_get_wal_stats failed (the split by resource manager is left out): " + e.getMessage());
            }
        }
        Result r = new Result(setup, kind, round, Double.parseDouble(tps.group(1)), Double.parseDouble(lat.group(1)),
                Long.parseLong(txns.group(1)), after.minus(before), seconds, cpu, rmgr);
        System.err.printf("%s round %d %-9s tps %8.1f  latency %7.3f ms  %8d txns  %7.0f WAL bytes/txn  load %s%n", kind,
                round, setup, r.tps, r.latencyMs, r.transactions, r.walPerTxn(), loadAverage());
        return r;
    }

    private static void report(Map<String, String> opt, Map<String, String[]> settings, List<Result> results,
                               double seconds, String loadBefore, String loadAfter, String catchUp) {
        StringBuilder s = new StringBuilder();
        s.append("== commit path and WAL per transaction against stock PostgreSQL (issue 14) ==\n");
        s.append(String.format("%s; pgbench -b %s -c %s -j %s -n, scale %s; %s s unmeasured warm-up each; then %s TPS rounds "
                        + "(-T %s) and %s WAL rounds (-t %s per client), each alternating A,B after a CHECKPOINT; total %.0f s%n",
                Instant.now(), opt.get("builtin"), opt.get("clients"), opt.get("threads"), opt.get("scale"),
                opt.get("warmup"), opt.get("rounds"), opt.get("duration"), opt.get("rounds"), opt.get("wal-transactions"),
                seconds));
        s.append("load average (1, 5, 15 min) before: ").append(loadBefore).append("; after: ").append(loadAfter)
                .append("; cores: ").append(Runtime.getRuntime().availableProcessors()).append('\n');
        boolean separate = opt.get("cluster-jvms").equals("separate");
        s.append("A: stock PG17, one node, fsync=on, synchronous_commit=on, no standby: a commit is durable on this one\n"
                + "   disk only (losing that disk loses committed data; no replica to fail over to)\n");
        s.append("B: Strata compute (ComputeSettings.forCompute: fsync=off, ANY 2 of 3 safekeepers, "
                + "wal_consistency_checking='')\n   over 3 safekeepers ")
                .append(separate ? "(each its own JVM)" : "(in one JVM)")
                .append(" and a pageserver ingesting ")
                .append(separate ? "(its own JVM)" : "(same JVM)")
                .append(", as `strata up` runs them: a commit is on 2 of 3\n   safekeeper disks before it returns "
                        + "(here all on one machine and disk, so the disk-loss guarantee is the\n   deployment's, "
                        + "not this run's); it costs loopback round trips and 4 more JVMs on the same cores\n");
        s.append("\nsettings (A stock | B compute), current_setting() on each running server:\n");
        settings.forEach((k, v) -> s.append(String.format("  %-28s %-24s %s%s%n", k, v[0], v[1],
                v[0].equals(v[1]) ? "" : "   <- differs")));
        for (String kind : List.of("tps", "wal")) {
            List<Result> rs = results.stream().filter(r -> r.kind.equals(kind)).toList();
            Predicate<Result> a = r -> r.setup.startsWith("A");
            Predicate<Result> b = r -> r.setup.startsWith("B");
            s.append(kind.equals("tps") ? String.format("%nTPS rounds (-T %s):%n", opt.get("duration"))
                    : String.format("%nWAL rounds (-t %s per client, the same transactions on both sides):%n",
                            opt.get("wal-transactions")));
            s.append(String.format("%-5s %-9s %9s %11s %8s %14s %12s%n", "round", "setup", "tps", "latency ms", "txns",
                    "WAL bytes/txn", "CPU ms/txn"));
            for (Result r : rs) {
                s.append(String.format("%-5d %-9s %9.1f %11.3f %8d %14.0f %12.2f%n", r.round, r.setup, r.tps, r.latencyMs,
                        r.transactions, r.walPerTxn(), r.cpuMsPerTxn(c -> true)));
            }
            s.append(String.format("median A stock  %9.1f tps %8.3f ms %8.0f WAL bytes/txn%n",
                    Bench.median(rs, a, Result::tps), Bench.median(rs, a, Result::latencyMs),
                    Bench.median(rs, a, Result::walPerTxn)));
            s.append(String.format("median B strata %9.1f tps %8.3f ms %8.0f WAL bytes/txn%n",
                    Bench.median(rs, b, Result::tps), Bench.median(rs, b, Result::latencyMs),
                    Bench.median(rs, b, Result::walPerTxn)));
            s.append("median of per-round ratios B/A: tps ")
                    .append(Bench.ratioSummary(Bench.perRoundRatios(rs, Result::round, a, b, Result::tps)));
            s.append(kind.equals("tps") ? " (goal: " + TPS_GOAL + ")\n" : "\n");
            s.append("                                latency ")
                    .append(Bench.ratioSummary(Bench.perRoundRatios(rs, Result::round, a, b, Result::latencyMs)))
                    .append('\n');
            s.append("                                WAL bytes/txn ")
                    .append(Bench.ratioSummary(Bench.perRoundRatios(rs, Result::round, a, b, Result::walPerTxn)));
            s.append(kind.equals("wal") ? " (goal: " + WAL_GOAL + ")\n" : " (not comparable: see the WAL rounds)\n");
        }
        // What the WAL rounds' bytes are, per resource manager, summed over the rounds.
        s.append("\nWAL rounds per resource manager (pg_get_wal_stats), per transaction: records, bytes, of which images\n");
        s.append(String.format("%-14s %10s %10s %10s   %10s %10s %10s%n", "rmgr", "A records", "A bytes", "A images",
                "B records", "B bytes", "B images"));
        Map<String, long[][]> byRmgr = new TreeMap<>();
        long[] txnsBy = new long[2];
        for (Result r : results) {
            if (!r.kind.equals("wal")) {
                continue;
            }
            int side = r.setup.startsWith("A") ? 0 : 1;
            txnsBy[side] += r.transactions;
            r.rmgr.forEach((k, v) -> {
                long[][] acc = byRmgr.computeIfAbsent(k, x -> new long[2][3]);
                for (int i = 0; i < 3; i++) {
                    acc[side][i] += v[i];
                }
            });
        }
        byRmgr.forEach((k, v) -> s.append(String.format("%-14s %10.2f %10.0f %10.0f   %10.2f %10.0f %10.0f%n", k,
                (double) v[0][0] / txnsBy[0], (double) v[0][1] / txnsBy[0], (double) v[0][2] / txnsBy[0],
                (double) v[1][0] / Math.max(1, txnsBy[1]), (double) v[1][1] / Math.max(1, txnsBy[1]),
                (double) v[1][2] / Math.max(1, txnsBy[1]))));

        // Where the CPU went in the TPS rounds: cores per component (1.0 = one core busy).
        List<Result> tps = results.stream().filter(r -> r.kind.equals("tps")).toList();
        java.util.Set<String> components = new java.util.TreeSet<>();
        tps.forEach(r -> r.cpu.byComponent().forEach((k, v) -> {
            if (v / r.seconds >= 0.005) {
                components.add(k);
            }
        }));
        s.append("\nCPU in the TPS rounds, cores used per component (this JVM's children only; "
                + Runtime.getRuntime().availableProcessors() + " cores shared with everything else on the machine):\n");
        s.append(String.format("%-22s", "component"));
        tps.forEach(r -> s.append(String.format(" %7s", r.round + r.setup.substring(0, 1))));
        s.append('\n');
        for (String c : components) {
            s.append(String.format("%-22s", c));
            tps.forEach(r -> s.append(String.format(" %7.2f", r.cores(c))));
            s.append('\n');
        }
        s.append(String.format("%-22s", "CPU ms per txn"));
        tps.forEach(r -> s.append(String.format(" %7.2f", r.cpuMsPerTxn(c -> true))));
        s.append('\n');
        // The same per transaction, summed over each side's TPS rounds, with the kernel's part
        // (stime: system calls, fsync, loopback sockets, wake-ups), which no JVM profile shows.
        s.append("\nCPU in the TPS rounds per transaction, summed over each side's rounds: ms, of which in the kernel\n");
        s.append(String.format("%-26s %8s %8s   %8s %8s%n", "component", "A ms", "A kernel", "B ms", "B kernel"));
        long[] sideTxns = new long[2];
        Map<String, double[]> perSide = new TreeMap<>();
        for (Result r : tps) {
            int side = r.setup.startsWith("A") ? 0 : 1;
            sideTxns[side] += r.transactions;
            r.cpu.byComponent().forEach((k, v) -> perSide.computeIfAbsent(k, x -> new double[4])[side * 2] += v);
            r.cpu.byComponentSys().forEach((k, v) -> perSide.computeIfAbsent(k, x -> new double[4])[side * 2 + 1] += v);
        }
        double[] total = new double[4];
        perSide.forEach((k, v) -> {
            for (int i = 0; i < 4; i++) {
                total[i] += v[i];
            }
            if (v[0] * 1000 / Math.max(1, sideTxns[0]) >= 0.005 || v[2] * 1000 / Math.max(1, sideTxns[1]) >= 0.005) {
                s.append(String.format("%-26s %8.3f %8.3f   %8.3f %8.3f%n", k, v[0] * 1000 / Math.max(1, sideTxns[0]),
                        v[1] * 1000 / Math.max(1, sideTxns[0]), v[2] * 1000 / Math.max(1, sideTxns[1]),
                        v[3] * 1000 / Math.max(1, sideTxns[1])));
            }
        });
        s.append(String.format("%-26s %8.3f %8.3f   %8.3f %8.3f%n", "all", total[0] * 1000 / Math.max(1, sideTxns[0]),
                total[1] * 1000 / Math.max(1, sideTxns[0]), total[2] * 1000 / Math.max(1, sideTxns[1]),
                total[3] * 1000 / Math.max(1, sideTxns[1])));
        if (Boolean.parseBoolean(opt.get("profile"))) {
            s.append("\nthreads of the JVMs in B's TPS rounds, CPU ms per transaction (summed over rounds), of which in the kernel:\n");
            List<Result> bs = tps.stream().filter(r -> r.setup.startsWith("B")).toList();
            long txns = bs.stream().mapToLong(Result::transactions).sum();
            Map<String, Double> byThread = new TreeMap<>();
            Map<String, Double> byThreadSys = new TreeMap<>();
            bs.forEach(r -> r.cpu.byThread().forEach((comp, m) -> m.forEach((t, v) ->
                    byThread.merge(comp + " / " + t, v, Double::sum))));
            bs.forEach(r -> r.cpu.byThreadSys().forEach((comp, m) -> m.forEach((t, v) ->
                    byThreadSys.merge(comp + " / " + t, v, Double::sum))));
            byThread.entrySet().stream().filter(e -> e.getValue() * 1000 / txns >= 0.01)
                    .sorted(Map.Entry.<String, Double>comparingByValue().reversed())
                    .forEach(e -> s.append(String.format("  %-50s %7.3f %7.3f%n", e.getKey(), e.getValue() * 1000 / txns,
                            byThreadSys.getOrDefault(e.getKey(), 0.0) * 1000 / txns)));
        }
        s.append(catchUp).append('\n');
        System.out.print(s);
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String exec(List<String> cmd, int timeoutSeconds) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
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
