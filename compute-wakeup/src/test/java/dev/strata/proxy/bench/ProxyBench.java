package dev.strata.proxy.bench;

import dev.strata.pgcore.testing.Bench;
import dev.strata.proxy.ProxyConfig;
import dev.strata.proxy.ProxyServer;
import dev.strata.proxy.testing.PostgresComputeControl;
import dev.strata.proxy.wake.EndpointState;
import dev.strata.proxy.wake.EndpointStatus;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Issue 6's benchmark, through {@code bench/proxy.sh}:
 * (1) wake latency: an endpoint is suspended by the proxy after its idle timeout, then a
 * pgjdbc client connects through the proxy and reads the first row of {@code select 1};
 * p50/p99 over {@code --wakes} rounds (a real PG17 start per round);
 * (2) relay cost (issue 12 item 5): {@code pgbench -S} against one running compute, direct,
 * through the proxy and through PgBouncer in session mode ({@link PgBouncer}), in the same
 * run, the order rotated each round; per client count TPS and p99 latency (from pgbench's
 * per-transaction log) and the median of the per-round ratios. An empty {@code --pgbouncer}
 * leaves PgBouncer out.
 *
 * <pre>ProxyBench [--wakes 20] [--duration 10] [--clients 1,4] [--threads 2] [--scale 10] [--rounds 3]
 *            [--warmup 5] [--io-threads 2] [--pgbench /usr/bin/pgbench] [--pgbouncer /usr/sbin/pgbouncer]</pre>
 */
public final class ProxyBench {

    private static final Pattern TPS = Pattern.compile("^tps = ([0-9.]+)", Pattern.MULTILINE);
    private static final Pattern TXNS = Pattern.compile("^number of transactions actually processed: ([0-9]+)", Pattern.MULTILINE);
    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

    /** One pgbench run: TPS, transactions, and the CPU this JVM (the proxy) used meanwhile. */
    private record Run(double tps, long transactions, long jvmCpuNanos, double p99Millis) {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> defaults = new LinkedHashMap<>();
        defaults.put("wakes", "20");
        defaults.put("duration", "10");
        defaults.put("clients", "1,4");
        defaults.put("threads", "2");
        defaults.put("scale", "10");
        defaults.put("rounds", "3");
        defaults.put("warmup", "5");
        defaults.put("io-threads", "2");
        defaults.put("pgbench", "/usr/bin/pgbench");
        defaults.put("pgbouncer", "/usr/sbin/pgbouncer");
        Map<String, String> opt = Bench.options("ProxyBench", defaults, args);
        try (PostgresComputeControl control = new PostgresComputeControl()) {
            control.add("sleepy", Duration.ofMillis(200));
            control.add("steady", null);
            try (ProxyServer proxy = ProxyServer.start(ProxyConfig.defaults().withPort(0)
                    .withIdleSweepInterval(Duration.ofMillis(50))
                    .withIoThreads(Integer.parseInt(opt.get("io-threads"))), control)) {
                int wakeRounds = Integer.parseInt(opt.get("wakes"));
                String wakes = wakeRounds > 0 ? wakeLatency(proxy, control, wakeRounds) : "(wake latency not measured: --wakes 0)";
                String tps = relayThroughput(proxy, control, opt);
                System.out.println();
                System.out.println(wakes);
                System.out.println(tps);
            }
        }
    }

    private static String wakeLatency(ProxyServer proxy, PostgresComputeControl control, int rounds) throws Exception {
        PostgresComputeControl.Compute c = control.compute("sleepy");
        String url = "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/postgres?options=endpoint%3Dsleepy&user=postgres"
                + "&password=" + URLEncoder.encode(c.server.password(), StandardCharsets.UTF_8) + "&connectTimeout=60";
        double[] ms = new double[rounds];
        for (int i = 0; i < rounds; i++) {
            awaitSuspended(proxy, c);
            long t0 = System.nanoTime();
            try (Connection conn = DriverManager.getConnection(url);
                 ResultSet rs = conn.createStatement().executeQuery("select 1")) {
                rs.next();
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
            System.err.printf("wake %2d: %7.1f ms%n", i + 1, ms[i]);
        }
        Arrays.sort(ms);
        return String.format("wake latency (suspended endpoint, pgjdbc connect to first row of select 1), %d wakes:%n"
                        + "  p50 %.0f ms   p99 %.0f ms   min %.0f ms   max %.0f ms", rounds,
                percentile(ms, 50), percentile(ms, 99), ms[0], ms[ms.length - 1]);
    }

    private static void awaitSuspended(ProxyServer proxy, PostgresComputeControl.Compute c) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            EndpointStatus s = proxy.status().stream().filter(x -> x.endpoint().value().equals("sleepy")).findFirst().orElse(null);
            if (!c.server.isRunning() && (s == null || s.state() == EndpointState.SUSPENDED)) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("endpoint not suspended within 30 s: " + s);
            }
            Thread.sleep(10);
        }
    }

    /** One target pgbench can connect to. */
    private record Target(String name, int port, String pgoptions) {
    }

    private static String relayThroughput(ProxyServer proxy, PostgresComputeControl control, Map<String, String> opt)
            throws Exception {
        PostgresComputeControl.Compute c = control.compute("steady");
        synchronized (c) {
            c.server.start();
        }
        String pw = c.server.password();
        List<String> init = List.of(opt.get("pgbench"), "-i", "-q", "-s", opt.get("scale"),
                "-h", "127.0.0.1", "-p", String.valueOf(c.server.port()), "-U", "postgres", "postgres");
        exec(init, pw, null);
        List<Target> targets = new ArrayList<>(List.of(new Target("direct", c.server.port(), null),
                new Target("proxy", proxy.port(), "endpoint=steady")));
        PgBouncer bouncer = opt.get("pgbouncer").isEmpty() ? null
                : PgBouncer.start(Path.of(opt.get("pgbouncer")), c.server.port(), "postgres", pw);
        try {
            if (bouncer != null) {
                targets.add(new Target("pgbouncer", bouncer.port(), null));
            }
            StringBuilder report = new StringBuilder();
            for (String clients : opt.get("clients").split(",")) {
                report.append(loadAt(opt, clients.strip(), targets, pw)).append(System.lineSeparator());
            }
            return report.toString().stripTrailing();
        } finally {
            if (bouncer != null) {
                bouncer.close();
            }
        }
    }

    /** Every target at one client count: warm-up, then rounds with the order rotated each round. */
    private static String loadAt(Map<String, String> opt, String clients, List<Target> targets, String pw) throws Exception {
        Map<String, String> o = new LinkedHashMap<>(opt);
        o.put("clients", clients);
        o.put("threads", String.valueOf(Math.min(Integer.parseInt(clients), Integer.parseInt(opt.get("threads")))));
        Map<String, String> warm = new LinkedHashMap<>(o);
        warm.put("duration", opt.get("warmup"));
        for (Target t : targets) {
            pgbench(warm, t, pw, false); // unmeasured: JIT, caches, pools
        }
        int rounds = Integer.parseInt(opt.get("rounds"));
        Map<String, List<Run>> runs = new LinkedHashMap<>();
        targets.forEach(t -> runs.put(t.name(), new ArrayList<>()));
        long proxyCpu = 0;
        long proxyTxns = 0;
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < targets.size(); i++) {
                Target t = targets.get((i + r) % targets.size()); // rotate: no target always first or last
                Run run = pgbench(o, t, pw, true);
                runs.get(t.name()).add(run);
                if (t.name().equals("proxy")) {
                    proxyCpu += run.jvmCpuNanos();
                    proxyTxns += run.transactions();
                }
                System.err.printf("clients %s round %d %-9s %9.1f tps  p99 %7.3f ms%n", clients, r + 1, t.name(),
                        run.tps(), run.p99Millis());
            }
        }
        StringBuilder b = new StringBuilder(String.format("pgbench -S -c %s -j %s -T %s, scale %s, %s s warm-up each,"
                        + " %d rounds (order rotated), proxy io threads %s:%n", clients, o.get("threads"), o.get("duration"),
                opt.get("scale"), opt.get("warmup"), rounds, opt.get("io-threads")));
        for (Target t : targets) {
            List<Run> rs = runs.get(t.name());
            b.append(String.format("  %-9s median %8.0f tps   p99 latency median %7.3f ms   rounds %s%n", t.name(),
                    median(rs.stream().map(Run::tps).toList()), median(rs.stream().map(Run::p99Millis).toList()),
                    rs.stream().map(x -> String.format("%.0f", x.tps())).toList()));
        }
        b.append(ratioLine("proxy / direct      ", runs.get("proxy"), runs.get("direct")));
        if (runs.containsKey("pgbouncer")) {
            b.append(ratioLine("pgbouncer / direct  ", runs.get("pgbouncer"), runs.get("direct")));
            b.append(ratioLine("proxy / pgbouncer   ", runs.get("proxy"), runs.get("pgbouncer")));
            b.append(String.format("  added p99 over direct (median of per-round differences): proxy %+.3f ms, pgbouncer %+.3f ms"
                            + " (goal: proxy TPS >= 1.0x pgbouncer, added p99 <= pgbouncer's)%n",
                    medianDiff(runs.get("proxy"), runs.get("direct")), medianDiff(runs.get("pgbouncer"), runs.get("direct"))));
        }
        b.append(String.format("  proxy CPU %.1f us per transaction (this JVM's CPU time during the proxied runs)",
                proxyCpu / 1000.0 / Math.max(1, proxyTxns)));
        return b.toString();
    }

    /** The median of the per-round TPS ratios (paired: each round's runs saw the same machine load). */
    private static String ratioLine(String label, List<Run> a, List<Run> b) {
        List<Double> ratios = new ArrayList<>();
        for (int i = 0; i < a.size(); i++) {
            ratios.add(a.get(i).tps() / b.get(i).tps());
        }
        return String.format("  TPS %s median of per-round ratios %.2f   (rounds %s)%n", label, median(ratios),
                ratios.stream().map(x -> String.format("%.2f", x)).toList());
    }

    private static double medianDiff(List<Run> a, List<Run> b) {
        List<Double> d = new ArrayList<>();
        for (int i = 0; i < a.size(); i++) {
            d.add(a.get(i).p99Millis() - b.get(i).p99Millis());
        }
        return median(d);
    }

    private static Run pgbench(Map<String, String> opt, Target target, String password, boolean latencies) throws Exception {
        Path logDir = Files.createTempDirectory("pgbench-log");
        try {
            List<String> cmd = new ArrayList<>(List.of(opt.get("pgbench"), "-S", "-c", opt.get("clients"), "-j",
                    opt.get("threads"), "-T", opt.get("duration"), "-h", "127.0.0.1", "-p", String.valueOf(target.port()),
                    "-U", "postgres"));
            if (latencies) {
                // one line per transaction; field 3 is its latency in microseconds
                cmd.addAll(List.of("-l", "--log-prefix=" + logDir.resolve("tx")));
            }
            cmd.add("postgres");
            long cpu0 = OS.getProcessCpuTime();
            String out = exec(cmd, password, target.pgoptions());
            long cpu = OS.getProcessCpuTime() - cpu0;
            Matcher m = TPS.matcher(out);
            Matcher n = TXNS.matcher(out);
            if (!m.find() || !n.find()) {
                throw new IllegalStateException("cannot parse pgbench output:\n" + out);
            }
            return new Run(Double.parseDouble(m.group(1)), Long.parseLong(n.group(1)), cpu,
                    latencies ? p99Micros(logDir) / 1000.0 : Double.NaN);
        } finally {
            try (var files = Files.list(logDir)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(logDir);
        }
    }

    private static double p99Micros(Path logDir) throws IOException {
        List<Long> us = new ArrayList<>();
        try (var files = Files.list(logDir)) {
            for (Path f : files.toList()) {
                for (String line : Files.readAllLines(f)) {
                    String[] parts = line.split(" ");
                    if (parts.length >= 3) {
                        us.add(Long.parseLong(parts[2]));
                    }
                }
            }
        }
        if (us.isEmpty()) {
            throw new IllegalStateException("pgbench wrote no per-transaction log in " + logDir);
        }
        double[] sorted = us.stream().mapToDouble(Long::doubleValue).sorted().toArray();
        return percentile(sorted, 99);
    }

    private static String exec(List<String> cmd, String password, String pgoptions) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("PGPASSWORD", password);
        if (pgoptions != null) {
            pb.environment().put("PGOPTIONS", pgoptions);
        } else {
            pb.environment().remove("PGOPTIONS");
        }
        Path out = Files.createTempFile("pgbench", ".out");
        try {
            Process p = pb.redirectOutput(out.toFile()).start();
            if (!p.waitFor(600, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out: " + cmd);
            }
            String text = Files.readString(out);
            if (p.exitValue() != 0) {
                throw new IllegalStateException(cmd + " failed (" + p.exitValue() + "):\n" + text);
            }
            return text;
        } finally {
            Files.deleteIfExists(out);
        }
    }

    private static double percentile(double[] sorted, int pct) {
        int idx = (int) Math.ceil(pct / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, idx))];
    }

    private static double median(List<Double> v) {
        return Bench.median(v.stream().mapToDouble(Double::doubleValue).toArray());
    }
}
