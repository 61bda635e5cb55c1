package dev.strata.cli.bench;

import dev.strata.cli.local.ClusterLayout;
import dev.strata.cli.local.LocalCluster;
import dev.strata.cli.local.LocalSafekeeper;
import dev.strata.pgcore.fs.FileTrees;
import dev.strata.pgcore.lsn.Lsn;
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
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * History in S3 against the compute's WAL rate (run by bench/s3-ingest.sh; issue 13's "S3
 * PUT/GET requests and bytes per GB of WAL ingested" and "upload keeps pace with ingest at the
 * compute's peak WAL rate, measured in the same run").
 *
 * <p>A local cluster in this JVM (safekeepers and pageserver in process, S3Proxy on loopback);
 * {@code pgbench -i -s SCALE} through the proxy. Every 0.5 s it samples the compute's WAL insert
 * LSN, the pageserver's last record, remote-consistent LSN and layer bytes uploaded, and the
 * safekeepers' flush and offloaded LSNs. After the load a small transaction a second keeps WAL
 * moving (the pageserver freezes its open layer at the next record after 10 s) until S3 holds
 * everything: the pageserver's index up to the load's last WAL, the safekeepers' segments up to
 * its last complete one. Prints the compute's average and peak (5 s) WAL rate against the
 * upload and offload rates, the lag at the end of the load and the time to catch up, a 5 s
 * timeline, and every S3 request from the load's start to the catch-up (counted by
 * {@link S3RequestCounter} in the SDK) per GB of WAL.
 */
public final class S3IngestBench {

    private static final Pattern PS = Pattern.compile("last record ([0-9A-F]+/[0-9A-F]+)");
    private static final Pattern REMOTE = Pattern.compile(
            "remote-consistent ([0-9A-F]+/[0-9A-F]+) \\(generation \\d+\\), (\\d+) layers waiting, (\\d+) uploaded \\((\\d+) bytes\\)");
    private static final Pattern SK = Pattern.compile(
            "flush ([0-9A-F]+/[0-9A-F]+) commit [0-9A-F]+/[0-9A-F]+(?: offloaded ([0-9A-F]+/[0-9A-F]+))?");
    private static final long SEGMENT = 16L << 20;

    /** One sample; LSNs as longs. */
    private record Sample(long nanos, long wal, long lastRecord, long remote, long uploadedBytes, int waiting,
                          long skFlush, long offloaded) {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = Bench.options("bench/s3-ingest.sh", Map.of("scale", "50", "pgbench",
                "/usr/bin/pgbench", "catch-up-timeout-s", "900"), args);
        int scale = Integer.parseInt(opt.get("scale"));
        Path dir = Files.createTempDirectory("strata-s3-ingest-");
        try {
            run(dir, scale, opt.get("pgbench"), Duration.ofSeconds(Long.parseLong(opt.get("catch-up-timeout-s"))));
        } finally {
            FileTrees.deleteRecursively(dir);
        }
    }

    private static void run(Path dir, int scale, String pgbench, Duration catchUpTimeout) throws Exception {
        LocalCluster.Options options = new LocalCluster.Options(0, false, Duration.ofHours(2));
        try (LocalCluster c = LocalCluster.start(new ClusterLayout(dir), options, s -> System.out.println("  " + s));
             Connection conn = connect(c.connectionString())) {
            if (!S3RequestCounter.installed()) {
                throw new IllegalStateException("S3RequestCounter is not registered with the AWS SDK (run through "
                        + "bench/s3-ingest.sh, which puts its execution.interceptors file on the classpath)");
            }
            List<Sample> samples = new CopyOnWriteArrayList<>();
            AtomicBoolean stop = new AtomicBoolean();
            // The sampler's own connection: the main one runs the ticks after the load.
            Connection sampleConn = connect(c.connectionString());
            Thread sampler = Thread.ofPlatform().name("sampler").start(() -> {
                while (!stop.get()) {
                    try {
                        samples.add(sample(c, sampleConn));
                        Thread.sleep(500);
                    } catch (InterruptedException e) {
                        return;
                    } catch (Exception e) {
                        System.out.println("  sample failed: " + e);
                    }
                }
            });
            try {
                Sample first = sample(c, conn);
                S3RequestCounter.reset();
                int startIndex = samples.size();
                long t0 = System.nanoTime();
                System.out.println("pgbench -i -s " + scale + " through the proxy");
                Process p = new ProcessBuilder(pgbench, "-i", "-s", Integer.toString(scale), "-q", c.connectionString())
                        .redirectErrorStream(true).redirectOutput(dir.resolve("pgbench.log").toFile()).start();
                if (!p.waitFor(2, TimeUnit.HOURS) || p.exitValue() != 0) {
                    p.destroyForcibly();
                    throw new IllegalStateException("pgbench failed: " + Files.readString(dir.resolve("pgbench.log")));
                }
                long t1 = System.nanoTime();
                Sample atEnd = sample(c, conn);
                long walEnd = atEnd.wal();
                long segEnd = walEnd / SEGMENT * SEGMENT;
                // S3 catches up; a transaction a second moves WAL so that the open layer is frozen.
                try (Statement s = conn.createStatement()) {
                    s.execute("CREATE TABLE IF NOT EXISTS s3_ingest_tick (at timestamptz)");
                    long deadline = System.nanoTime() + catchUpTimeout.toNanos();
                    Sample now = sample(c, conn);
                    while (now.remote() < walEnd || now.offloaded() < segEnd) {
                        if (System.nanoTime() > deadline) {
                            throw new IllegalStateException("S3 did not catch up within " + catchUpTimeout + ": "
                                    + now + "\n" + c.statusReport());
                        }
                        s.execute("INSERT INTO s3_ingest_tick VALUES (now())");
                        Thread.sleep(1000);
                        now = sample(c, conn);
                    }
                }
                long t2 = System.nanoTime();
                Map<String, S3RequestCounter.Count> requests = S3RequestCounter.snapshot();
                Sample caughtUp = sample(c, conn);
                stop.set(true);
                sampler.join();
                report(scale, first, atEnd, caughtUp, t0, t1, t2, samples.subList(startIndex, samples.size()),
                        requests, dir);
            } finally {
                stop.set(true);
                sampler.interrupt();
                sampler.join();
                sampleConn.close();
            }
        }
    }

    private static void report(int scale, Sample first, Sample atEnd, Sample caughtUp, long t0, long t1, long t2,
                               List<Sample> samples, Map<String, S3RequestCounter.Count> requests, Path dir)
            throws Exception {
        double load = (t1 - t0) / 1e9;
        double catchUp = (t2 - t1) / 1e9;
        long wal = atEnd.wal() - first.wal();
        double gb = wal / 1e9;
        // Peak: the largest WAL advance over any 5 s window of the samples during the load.
        double peak = 0;
        List<Sample> during = samples.stream().filter(s -> s.nanos() >= t0 && s.nanos() <= t1).toList();
        for (int i = 0; i < during.size(); i++) {
            for (int j = i + 1; j < during.size(); j++) {
                double dt = (during.get(j).nanos() - during.get(i).nanos()) / 1e9;
                if (dt >= 5) {
                    peak = Math.max(peak, (during.get(j).wal() - during.get(i).wal()) / 1e6 / dt);
                    break;
                }
            }
        }
        if (peak == 0 && load > 0) {
            peak = wal / 1e6 / load; // a load shorter than one window
        }
        long maxRemoteLag = 0;
        long maxOffloadLag = 0;
        for (Sample s : during) {
            maxRemoteLag = Math.max(maxRemoteLag, s.wal() - s.remote());
            maxOffloadLag = Math.max(maxOffloadLag, s.wal() - s.offloaded());
        }
        System.out.println();
        System.out.printf("load: pgbench -i -s %d, %.1f s, %.1f MB of WAL from the compute: %.1f MB/s average, "
                + "%.1f MB/s peak (5 s window)%n", scale, load, wal / 1e6, wal / 1e6 / load, peak);
        System.out.printf("pageserver ingest at the load's end: last record %.1f MB behind the compute%n",
                (atEnd.wal() - atEnd.lastRecord()) / 1e6);
        System.out.printf("layer upload during the load: %.1f MB in %.1f s = %.1f MB/s; remote-consistent advanced "
                        + "%.1f MB = %.1f MB/s of WAL; lag at the load's end %.1f MB (max during %.1f MB), %d layers waiting%n",
                (atEnd.uploadedBytes() - first.uploadedBytes()) / 1e6, load,
                (atEnd.uploadedBytes() - first.uploadedBytes()) / 1e6 / load, (atEnd.remote() - first.remote()) / 1e6,
                (atEnd.remote() - first.remote()) / 1e6 / load, (atEnd.wal() - atEnd.remote()) / 1e6,
                maxRemoteLag / 1e6, atEnd.waiting());
        System.out.printf("WAL offload during the load: %.1f MB = %.1f MB/s; lag at the load's end %.1f MB (max "
                        + "during %.1f MB; complete segments only)%n", (atEnd.offloaded() - first.offloaded()) / 1e6,
                (atEnd.offloaded() - first.offloaded()) / 1e6 / load, (atEnd.wal() - atEnd.offloaded()) / 1e6,
                maxOffloadLag / 1e6);
        System.out.printf("caught up %.1f s after the load (index covers the load's last WAL, segments up to its "
                + "last complete one); layer bytes uploaded in all %.1f MB = %.2f x the WAL%n", catchUp,
                (caughtUp.uploadedBytes() - first.uploadedBytes()) / 1e6,
                (double) (caughtUp.uploadedBytes() - first.uploadedBytes()) / wal);
        System.out.println();
        System.out.println("every 5 s, MB since the load's start: compute WAL, safekeepers' flush, pageserver last record, "
                + "remote-consistent, offloaded, layer bytes uploaded");
        long lastPrinted = 0;
        for (Sample s : samples) {
            if (lastPrinted == 0 || s.nanos() - lastPrinted >= 5_000_000_000L) {
                lastPrinted = s.nanos();
                System.out.printf("  %6.1f s %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f%s%n", (s.nanos() - t0) / 1e9,
                        (s.wal() - first.wal()) / 1e6, (s.skFlush() - first.wal()) / 1e6,
                        (s.lastRecord() - first.wal()) / 1e6,
                        (s.remote() - first.wal()) / 1e6, (s.offloaded() - first.wal()) / 1e6,
                        (s.uploadedBytes() - first.uploadedBytes()) / 1e6, s.nanos() > t1 ? "  (after the load)" : "");
            }
        }
        System.out.println();
        System.out.printf("S3 requests from the load's start to the catch-up, %.2f GB of WAL:%n", gb);
        long total = 0;
        for (var e : requests.entrySet()) {
            S3RequestCounter.Count n = e.getValue();
            total += n.requests();
            System.out.printf("  %-32s %6d requests (%7.1f per GB of WAL), %8.1f MB sent (%.2f per MB of WAL), %6.1f MB "
                            + "received%n", e.getKey(), n.requests(), n.requests() / gb, n.bytesOut() / 1e6,
                    n.bytesOut() / (double) wal, n.bytesIn() / 1e6);
        }
        System.out.printf("  %-32s %6d requests (%7.1f per GB of WAL)%n", "total", total, total / gb);
        System.out.println("(pgbench's log: " + Files.readString(dir.resolve("pgbench.log")).lines()
                .reduce((a, b) -> b).orElse("") + ")");
    }

    private static Sample sample(LocalCluster c, Connection conn) throws SQLException {
        long wal;
        try (Statement s = conn.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_current_wal_insert_lsn()")) {
            rs.next();
            wal = Lsn.parse(rs.getString(1)).value();
        }
        long lastRecord = 0;
        long remote = 0;
        long uploaded = 0;
        int waiting = 0;
        for (String line : c.pageserver().status(c.timeline())) {
            Matcher m = PS.matcher(line);
            if (m.find()) {
                lastRecord = Lsn.parse(m.group(1)).value();
            }
            m = REMOTE.matcher(line);
            if (m.find()) {
                remote = Lsn.parse(m.group(1)).value();
                waiting = Integer.parseInt(m.group(2));
                uploaded = Long.parseLong(m.group(4));
            }
        }
        long flush = 0;
        long offloaded = 0;
        for (LocalSafekeeper sk : c.safekeepers()) {
            Matcher m = SK.matcher(sk.status(c.timeline()));
            if (m.find()) {
                flush = Math.max(flush, Lsn.parse(m.group(1)).value());
                if (m.group(2) != null) {
                    offloaded = Math.max(offloaded, Lsn.parse(m.group(2)).value());
                }
            }
        }
        return new Sample(System.nanoTime(), wal, lastRecord, remote, uploaded, waiting, flush, offloaded);
    }

    private static Connection connect(String connectionString) throws SQLException {
        URI u = URI.create(connectionString);
        String[] userInfo = u.getRawUserInfo().split(":", 2);
        Properties p = new Properties();
        p.setProperty("user", userInfo[0]);
        p.setProperty("password", URLDecoder.decode(userInfo[1], StandardCharsets.UTF_8));
        p.setProperty("connectTimeout", "60");
        String query = u.getRawQuery();
        if (query != null && query.startsWith("options=")) {
            p.setProperty("options", URLDecoder.decode(query.substring("options=".length()), StandardCharsets.UTF_8));
        }
        return DriverManager.getConnection("jdbc:postgresql://" + u.getHost() + ":" + u.getPort() + u.getPath(), p);
    }

    private S3IngestBench() {
    }
}
