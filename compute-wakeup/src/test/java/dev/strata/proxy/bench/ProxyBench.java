package dev.strata.proxy.bench;

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
 * (2) relay cost: {@code pgbench -S} against a running compute, direct and through the proxy,
 * alternating, in the same run; the ratio of median TPS (goal >= 0.9).
 *
 * <pre>ProxyBench [--wakes 20] [--duration 10] [--clients 4] [--threads 2] [--scale 10] [--rounds 2]
 *            [--warmup 5] [--io-threads 2] [--pgbench /usr/bin/pgbench]</pre>
 */
public final class ProxyBench {

    private static final Pattern TPS = Pattern.compile("^tps = ([0-9.]+)", Pattern.MULTILINE);
    private static final Pattern TXNS = Pattern.compile("^number of transactions actually processed: ([0-9]+)", Pattern.MULTILINE);
    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

    /** One pgbench run: TPS, transactions, and the CPU this JVM (the proxy) used meanwhile. */
    private record Run(double tps, long transactions, long jvmCpuNanos) {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new LinkedHashMap<>();
        opt.put("wakes", "20");
        opt.put("duration", "10");
        opt.put("clients", "4");
        opt.put("threads", "2");
        opt.put("scale", "10");
        opt.put("rounds", "2");
        opt.put("warmup", "5");
        opt.put("io-threads", "2");
        opt.put("pgbench", "/usr/bin/pgbench");
        for (int i = 0; i < args.length; i++) {
            String k = args[i].replaceFirst("^--", "");
            if (!opt.containsKey(k) || i + 1 >= args.length) {
                System.err.println("usage: ProxyBench " + opt.keySet().stream().map(o -> "[--" + o + " " + opt.get(o) + "]").toList());
                System.exit(2);
            }
            opt.put(k, args[++i]);
        }
        try (PostgresComputeControl control = new PostgresComputeControl()) {
            control.add("sleepy", Duration.ofMillis(200));
            control.add("steady", null);
            try (ProxyServer proxy = ProxyServer.start(ProxyConfig.defaults().withPort(0)
                    .withIdleSweepInterval(Duration.ofMillis(50))
                    .withIoThreads(Integer.parseInt(opt.get("io-threads"))), control)) {
                String wakes = wakeLatency(proxy, control, Integer.parseInt(opt.get("wakes")));
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
        int rounds = Integer.parseInt(opt.get("rounds"));
        // unmeasured: both paths warm (the proxy's JIT, the compute's caches)
        Map<String, String> warm = new LinkedHashMap<>(opt);
        warm.put("duration", opt.get("warmup"));
        pgbench(warm, c.server.port(), pw, null);
        pgbench(warm, proxy.port(), pw, "endpoint=steady");
        List<Double> direct = new ArrayList<>();
        List<Double> proxied = new ArrayList<>();
        long proxyCpu = 0;
        long proxyTxns = 0;
        for (int r = 1; r <= rounds; r++) {
            direct.add(pgbench(opt, c.server.port(), pw, null).tps());
            System.err.printf("round %d direct  %9.1f tps%n", r, direct.getLast());
            Run run = pgbench(opt, proxy.port(), pw, "endpoint=steady");
            proxied.add(run.tps());
            proxyCpu += run.jvmCpuNanos();
            proxyTxns += run.transactions();
            System.err.printf("round %d proxy   %9.1f tps%n", r, proxied.getLast());
        }
        double d = median(direct);
        double p = median(proxied);
        return String.format("pgbench -S -c %s -j %s -T %s, scale %s, %s s warm-up each, %d rounds alternating direct/proxy, proxy io threads %s:%n"
                        + "  direct %.0f tps   through proxy %.0f tps   ratio %.2f (goal >= 0.90)%n"
                        + "  proxy CPU %.1f us per transaction (this JVM's CPU time during the proxied runs)%n"
                        + "  rounds direct %s, proxy %s", opt.get("clients"), opt.get("threads"), opt.get("duration"),
                opt.get("scale"), opt.get("warmup"), rounds, opt.get("io-threads"), d, p, p / d,
                proxyCpu / 1000.0 / Math.max(1, proxyTxns), direct, proxied);
    }

    private static Run pgbench(Map<String, String> opt, int port, String password, String pgoptions) throws Exception {
        List<String> cmd = List.of(opt.get("pgbench"), "-S", "-c", opt.get("clients"), "-j", opt.get("threads"),
                "-T", opt.get("duration"), "-h", "127.0.0.1", "-p", String.valueOf(port), "-U", "postgres", "postgres");
        long cpu0 = OS.getProcessCpuTime();
        String out = exec(cmd, password, pgoptions);
        long cpu = OS.getProcessCpuTime() - cpu0;
        Matcher m = TPS.matcher(out);
        Matcher n = TXNS.matcher(out);
        if (!m.find() || !n.find()) {
            throw new IllegalStateException("cannot parse pgbench output:\n" + out);
        }
        return new Run(Double.parseDouble(m.group(1)), Long.parseLong(n.group(1)), cpu);
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
        double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
    }
}
