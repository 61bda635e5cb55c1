package dev.strata.safekeeper.it;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.testing.Bench;
import dev.strata.safekeeper.election.Proposer;
import java.io.IOException;
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
import java.util.stream.Stream;

/**
 * Issue 11 item 9's benchmark: the WAL rate a quorum of receivers sustains during one large
 * transaction. Two PG17 computes with the settings Strata computes run ({@code full_page_writes=on},
 * {@code fsync=off}; {@code wal_consistency_checking} from {@code --wal-consistency-checking},
 * default {@code compute}: the compute's current list, {@code ComputeSettings.WAL_CONSISTENCY_CHECKING}
 * through {@link Bench#computeWalConsistencyChecking()}, empty since decision 0030; {@code all}
 * gives the images-first WAL of the figures in docs/safekeeper.md, the computes' setting before
 * decision 0021) and
 * {@code synchronous_standby_names = ANY 2 ("sk-1", "sk-2", "sk-3")}:
 * (A) three stock {@code pg_receivewal --synchronous} (fsync per read batch, flush feedback
 * after each) and (B) three Strata safekeepers (separate JVMs), all on this machine.
 *
 * <p>Each round, on each side: a fresh table, a checkpoint, then one autocommit
 * {@code INSERT ... SELECT generate_series} whose commit returns once two receivers have
 * flushed all of its WAL. Rate = WAL bytes of the statement / wall time of the statement. The
 * order alternates per round (A,B then B,A) and the ratio B/A is taken per round, so both sides
 * of a pair see about the same machine; the median of those ratios is the result.
 *
 * <p>In the {@code it} package to reuse the fixtures ({@link SafekeeperCluster}). Run it through
 * {@code bench/safekeeper-throughput.sh}, which finds pg_receivewal and, when it is older than
 * the server, the LD_PRELOAD shim that lets it stream from 17.
 *
 * <pre>
 * ThroughputBench [--rounds 3] [--rows 200000] [--pad 200] [--warmup-rows 50000]
 *                 [--receivewal /usr/lib/postgresql/15/bin/pg_receivewal] [--preload ""]
 *                 [--dir bench/out/safekeeper-throughput] [--only AB] [--wal-consistency-checking compute]
 * </pre>
 */
public final class ThroughputBench {

    /** {@code cpu}: seconds of CPU the three receivers spent during the statement, by kind of thread. */
    private record Result(String setup, int round, long walBytes, double seconds, Map<String, Double> cpu) {
        double mbPerSecond() {
            return walBytes / 1048576.0 / seconds;
        }

        /** Receiver CPU (all three, all threads) per GB of WAL. */
        double cpuPerGb() {
            return cpu.values().stream().mapToDouble(Double::doubleValue).sum() / (walBytes / 1073741824.0);
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> defaults = new LinkedHashMap<>();
        defaults.put("rounds", "3");
        defaults.put("rows", "200000");
        defaults.put("pad", "200");
        defaults.put("warmup-rows", "50000");
        defaults.put("receivewal", "/usr/lib/postgresql/15/bin/pg_receivewal");
        defaults.put("preload", "");
        defaults.put("dir", "bench/out/safekeeper-throughput");
        defaults.put("only", "ABC");
        // "compute": ComputeSettings.WAL_CONSISTENCY_CHECKING, what a compute writes today; "all":
        // every record carries the pages it touches (the compute's setting until decision 0021,
        // and the figures in docs/safekeeper.md).
        defaults.put("wal-consistency-checking", "compute");
        Map<String, String> opt = Bench.options("ThroughputBench", defaults, args);
        int rounds = Integer.parseInt(opt.get("rounds"));
        Path root = Bench.freshDirectory(opt.get("dir"));

        List<Result> results = new ArrayList<>();
        long t0 = System.nanoTime();
        Map<String, String> settings = new TreeMap<>();
        List<Process> receivers = new ArrayList<>();
        try (SafekeeperCluster sks = SafekeeperCluster.start(root.resolve("sk"), 3)) {
            settings.putAll(sks.computeSettings());
            settings.put("wal_consistency_checking", Bench.walConsistencyChecking(opt.get("wal-consistency-checking")));
            settings.put("full_page_writes", "on");
            // No checkpoint in the middle of a measured statement; both sides alike.
            settings.put("max_wal_size", "8GB");
            settings.put("checkpoint_timeout", "30min");
            // (C) the same compute with nobody to wait for: how fast the compute alone writes
            // this WAL on this machine, the ceiling for both A and B.
            Map<String, String> alone = new TreeMap<>(settings);
            alone.remove("synchronous_standby_names");
            try (PostgresServer computeA = PostgresServer.builder().settings(settings).start();
                 PostgresServer computeB = PostgresServer.builder().settings(settings).start();
                 PostgresServer computeC = PostgresServer.builder().settings(alone).start()) {
                // (A) three pg_receivewal --synchronous, streaming from the current segment on.
                for (int i = 1; i <= 3; i++) {
                    receivers.add(startReceiveWal(opt, computeA, "sk-" + i, root.resolve("receivewal-" + i)));
                }
                awaitSyncStandbys(computeA, 3, receivers);

                // (B) our three safekeepers, streaming compute B from the start of a fresh segment.
                query(computeB, "SELECT pg_switch_wal()");
                Lsn from = SafekeeperCluster.currentLsn(computeB);
                TimelineId tl = sks.createTimeline(computeB, from);
                Proposer proposer = sks.proposer(tl);
                Proposer.Result elected = proposer.elect();
                proposer.streamFrom(SafekeeperCluster.address(elected, computeB));
                awaitSyncStandbys(computeB, 3, List.of());
                System.err.printf("set-up done in %.0f s%n", (System.nanoTime() - t0) / 1e9);

                // Unmeasured warm-up: page cache, the safekeepers' JIT (a long-running service
                // has long finished compiling; a cold JVM would be measured otherwise).
                Map<String, String> warm = new java.util.HashMap<>(opt);
                warm.put("rows", opt.get("warmup-rows"));
                List<Long> receiverPids = receivers.stream().map(Process::pid).toList();
                List<Long> safekeeperPids = sks.nodes.stream().map(SafekeeperProcess::pid).toList();
                load(warm, "A warm-up", 0, computeA, receiverPids);
                load(warm, "B warm-up", 0, computeB, safekeeperPids);
                load(warm, "C warm-up", 0, computeC, List.of());
                for (int r = 1; r <= rounds; r++) {
                    boolean aFirst = r % 2 == 1;
                    for (String side : aFirst ? List.of("A", "B") : List.of("B", "A")) {
                        if (!opt.get("only").contains(side)) {
                            continue;
                        }
                        results.add(side.equals("A")
                                ? load(opt, "A pg_receivewal", r, computeA, receiverPids)
                                : load(opt, "B safekeepers", r, computeB, safekeeperPids));
                    }
                    if (opt.get("only").contains("C")) {
                        results.add(load(opt, "C compute alone", r, computeC, List.of()));
                    }
                    removeCompleteSegments(root, 3); // disk hygiene between rounds, not timed
                }
                System.err.println("A replication: " + replicationState(computeA));
                System.err.println("B replication: " + replicationState(computeB));
            } finally {
                for (Process p : receivers) {
                    p.destroy();
                    if (!p.waitFor(10, TimeUnit.SECONDS)) {
                        p.destroyForcibly();
                    }
                }
            }
        }
        report(opt, settings, results, (System.nanoTime() - t0) / 1e9);
    }

    private static Process startReceiveWal(Map<String, String> opt, PostgresServer primary, String name, Path dir)
            throws IOException {
        Files.createDirectories(dir);
        String conninfo = "host=" + primary.host() + " port=" + primary.port() + " user=" + primary.user()
                + " password=" + primary.password() + " application_name=" + name + " sslmode=disable";
        // --synchronous: fsync as soon as the socket has no more data, then report the flush
        // position (what a synchronous standby does); --no-loop: a failure ends the benchmark.
        ProcessBuilder pb = new ProcessBuilder(opt.get("receivewal"), "-D", dir.toString(), "-d", conninfo,
                "--synchronous", "--no-loop", "-v")
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolveSibling(name + "-receivewal.log").toFile()));
        if (!opt.get("preload").isBlank()) {
            pb.environment().put("LD_PRELOAD", opt.get("preload"));
        }
        return pb.start();
    }

    /** One measured statement: WAL bytes it wrote and the wall time until its commit returned. */
    private static Result load(Map<String, String> opt, String setup, int round, PostgresServer compute, List<Long> receiverPids)
            throws Exception {
        try (Connection c = DriverManager.getConnection(compute.jdbcUrl("postgres")); Statement s = c.createStatement()) {
            s.execute("DROP TABLE IF EXISTS bulk");
            s.execute("CREATE TABLE bulk (id int, pad text)");
            s.execute("CHECKPOINT");
            // Start each measurement with no dirty pages: what the previous load left in the
            // page cache is written back now, not during (and charged to) this one.
            if (!new ProcessBuilder("sync").inheritIO().start().waitFor(300, TimeUnit.SECONDS)) {
                throw new IllegalStateException("sync did not finish in 300 s");
            }
            Lsn before = lsn(s);
            Map<String, Double> cpu0 = ThreadCpu.snapshot(receiverPids);
            long start = System.nanoTime();
            s.execute("INSERT INTO bulk SELECT g, repeat('x', " + Integer.parseInt(opt.get("pad")) + ") FROM generate_series(1, "
                    + Long.parseLong(opt.get("rows")) + ") g");
            double seconds = (System.nanoTime() - start) / 1e9;
            Map<String, Double> cpu = ThreadCpu.minus(ThreadCpu.snapshot(receiverPids), cpu0);
            Lsn after = lsn(s);
            Result r = new Result(setup, round, after.minus(before), seconds, cpu);
            System.err.printf("round %d %-16s %7.0f MB in %6.2f s = %7.1f MB/s, receiver CPU %.1f s/GB %s%n", round, setup,
                    r.walBytes / 1048576.0, r.seconds, r.mbPerSecond(), r.cpuPerGb(), cpu);
            return r;
        }
    }

    private static Lsn lsn(Statement s) throws Exception {
        try (ResultSet rs = s.executeQuery("SELECT pg_current_wal_insert_lsn()")) {
            rs.next();
            return Lsn.parse(rs.getString(1));
        }
    }

    private static void report(Map<String, String> opt, Map<String, String> settings, List<Result> results, double seconds) {
        StringBuilder s = new StringBuilder();
        s.append("== safekeeper throughput benchmark (issue 11 item 9) ==\n");
        s.append(String.format("one INSERT ... SELECT of %s rows (pad %s) per round and side, %s rounds, order A,B then B,A; total %.0f s%n",
                opt.get("rows"), opt.get("pad"), opt.get("rounds"), seconds));
        s.append("compute settings (both): ").append(settings).append('\n');
        s.append("A: 3 x ").append(opt.get("receivewal")).append(" --synchronous")
                .append(opt.get("preload").isBlank() ? "" : " (LD_PRELOAD " + opt.get("preload") + ")").append('\n');
        s.append("B: 3 Strata safekeepers (separate JVMs on loopback)\n");
        s.append("C: the same compute without synchronous standbys (nobody streams from it): the ceiling\n\n");
        s.append(String.format("%-5s %-16s %9s %9s %9s %11s  %s%n", "round", "setup", "WAL MB", "seconds", "MB/s",
                "CPU s/GB", "receivers' CPU s by thread kind (3 receivers)"));
        for (Result r : results) {
            s.append(String.format("%-5d %-16s %9.0f %9.2f %9.1f %11.2f  %s%n", r.round, r.setup, r.walBytes / 1048576.0,
                    r.seconds, r.mbPerSecond(), r.cpu.isEmpty() ? 0.0 : r.cpuPerGb(), r.cpu));
        }
        List<Double> ratios = Bench.perRoundRatios(results, Result::round, x -> x.setup.startsWith("A"),
                x -> x.setup.startsWith("B"), Result::mbPerSecond);
        s.append(String.format("%nmedian A pg_receivewal  %7.1f MB/s%n",
                Bench.median(results, x -> x.setup.startsWith("A"), Result::mbPerSecond)));
        s.append(String.format("median B safekeepers   %7.1f MB/s%n",
                Bench.median(results, x -> x.setup.startsWith("B"), Result::mbPerSecond)));
        s.append(String.format("median C compute alone %7.1f MB/s%n",
                Bench.median(results, x -> x.setup.startsWith("C"), Result::mbPerSecond)));
        s.append(String.format("median receiver CPU per GB of WAL (3 receivers): A %.2f s, B %.2f s%n",
                Bench.median(results, x -> x.setup.startsWith("A"), Result::cpuPerGb),
                Bench.median(results, x -> x.setup.startsWith("B"), Result::cpuPerGb)));
        s.append("median of per-round ratios safekeepers/pg_receivewal: ").append(Bench.ratioSummary(ratios))
                .append(" (goal >= 1.0x)\n");
        System.out.print(s);
    }


    /** pg_receivewal keeps every segment; completed ones are not needed by the benchmark. */
    private static void removeCompleteSegments(Path root, int n) throws IOException {
        for (int i = 1; i <= n; i++) {
            Path dir = root.resolve("receivewal-" + i);
            try (Stream<Path> files = Files.list(dir)) {
                for (Path p : files.filter(p -> p.getFileName().toString().matches("[0-9A-F]{24}")).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    /** Waits until {@code n} synchronous candidates stream from {@code compute} and a test commit returns. */
    private static void awaitSyncStandbys(PostgresServer compute, int n, List<Process> receivers) throws Exception {
        long deadline = System.currentTimeMillis() + 120_000;
        String state = "";
        while (System.currentTimeMillis() < deadline) {
            for (Process p : receivers) {
                if (!p.isAlive()) {
                    throw new IllegalStateException("pg_receivewal exited with " + p.exitValue() + "; see its log under the bench dir");
                }
            }
            state = replicationState(compute);
            if (Arrays.stream(state.split(";")).filter(x -> x.contains("streaming") && x.contains("quorum")).count() >= n) {
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
}
