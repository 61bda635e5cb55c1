package dev.strata.pageserver.bench;

import dev.strata.pageserver.testing.TestPageservers;
import dev.strata.pageserver.client.PageserverClient;
import dev.strata.pageserver.http.PageserverServer;
import dev.strata.pageserver.timeline.Timeline;
import dev.strata.pageserver.timeline.TimelineManager;
import dev.strata.pageserver.timeline.WalSource;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

/**
 * bench/pageserver-getpage.sh: (1) ingest throughput: a PG17 primary with
 * wal_consistency_checking=all writes WAL first (inserts and updates), then a timeline streams it
 * from the primary's walsender and ingests it; MB of WAL per second of catch-up. (2) GetPage@LSN
 * over loopback on the ingested (hot, flushed) layers: one client connection, after a warm-up of
 * both, three rounds of depth 1 for latency (p50/p99) then pipelined (depth 32) for throughput,
 * each phase SECONDS/2 long.
 *
 * <p>CPU: the client runs in this JVM, on the main thread and the client's reader thread. Their
 * CPU (ThreadMXBean) is subtracted from the process's CPU to give the server's CPU, which still
 * includes the JVM's own threads (JIT, GC): conservative. "Per core" = pages / server CPU
 * seconds; pages / process CPU seconds (client included) is printed too.
 */
public final class PageserverBench {

    public static void main(String[] args) throws Exception {
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 300_000;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        Path dir = Files.createTempDirectory("pageserver-bench");
        try (PostgresServer pg = PostgresServer.builder().setting("wal_level", "replica")
                .setting("wal_consistency_checking", "all").setting("autovacuum", "off")
                .setting("wal_keep_size", "8GB").setting("max_wal_size", "8GB").setting("checkpoint_timeout", "1h")
                .setting("fsync", "off").start();
             Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
             Statement s = c.createStatement()) {
            Lsn switched = Lsn.parse(scalar(s, "SELECT pg_switch_wal()"));
            Lsn start = Lsn.ofSegment(Lsn.of(switched.value() - 1).segmentNumber(16 << 20) + 1, 16 << 20);
            s.execute("CREATE TABLE bench (id int PRIMARY KEY, v int, pad text)");
            s.execute("INSERT INTO bench SELECT g, g, repeat('x', 100) FROM generate_series(1, " + rows + ") g");
            s.execute("UPDATE bench SET v = v + 1 WHERE id % 3 = 0");
            Lsn end = Lsn.parse(scalar(s, "SELECT pg_current_wal_insert_lsn()"));
            long relNumber = Long.parseLong(scalar(s, "SELECT pg_relation_filenode('bench')"));
            long dbOid = Long.parseLong(scalar(s, "SELECT oid FROM pg_database WHERE datname = current_database()"));
            int blocks = Integer.parseInt(scalar(s, "SELECT pg_relation_size('bench') / 8192"));
            s.execute("SELECT pg_switch_wal()"); // the insert LSN becomes a record end soon after
            Lsn target = Lsn.parse(scalar(s, "SELECT pg_current_wal_insert_lsn()"));
            target = end;

            PageserverServer ps = PageserverServer.start(TestPageservers.config(dir));
            try {
                TimelineId tl = TimelineId.random();
                long t0 = System.nanoTime();
                Timeline t = ps.node().timelines().create(new TimelineManager.CreateRequest(tl, start, false, false,
                        List.of(new WalSource(pg.host(), pg.port(), pg.user(), pg.password()))));
                t.awaitLsn(target, Duration.ofMinutes(10));
                double ingestSec = (System.nanoTime() - t0) / 1e9;
                double mb = target.minus(start) / 1e6;
                System.out.printf("ingest: %.0f MB of WAL (wal_consistency_checking=all) in %.1f s = %.1f MB/s%n",
                        mb, ingestSec, mb / ingestSec);
                Lsn at = t.lastRecordLsn();
                t.flushNow();
                long deadline = System.nanoTime() + 60_000_000_000L;
                while (t.store().layerMap().open().size() > 0 && t.layerCounts().delta() == 0 && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                try (PageserverClient client = TestPageservers.client(ps)) {
                    Random rnd = new Random(1);
                    int db = (int) dbOid;
                    int rel = (int) relNumber;
                    // Warm-up of both paths (JIT), not measured: 20 000 one at a time, 3 s pipelined.
                    for (int i = 0; i < 20_000; i++) {
                        client.getPage(tl, at, 1663, db, rel, 0, rnd.nextInt(blocks));
                    }
                    pipelined(client, tl, at, db, rel, blocks, rnd, 3_000_000_000L);
                    System.out.printf("machine: %d cores, load average %.1f before the GetPage runs%n",
                            Runtime.getRuntime().availableProcessors(),
                            ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
                    long phaseNanos = seconds * 1_000_000_000L / 2;
                    for (int round = 1; round <= ROUNDS; round++) {
                        long[] lat = new long[5_000_000];
                        int n = 0;
                        Cpu cpuAt0 = Cpu.now();
                        long w0 = System.nanoTime();
                        long stop = w0 + phaseNanos;
                        while (System.nanoTime() < stop && n < lat.length) {
                            long a = System.nanoTime();
                            client.getPage(tl, at, 1663, db, rel, 0, rnd.nextInt(blocks));
                            lat[n++] = System.nanoTime() - a;
                        }
                        double wall1 = (System.nanoTime() - w0) / 1e9;
                        Cpu used1 = Cpu.now().minus(cpuAt0);
                        long[] sorted = Arrays.copyOf(lat, n);
                        Arrays.sort(sorted);
                        System.out.printf("round %d getpage depth 1: %d pages in %.1f s = %.0f pages/s, p50 %.0f us, p99 %.0f us,"
                                        + " p99.9 %.0f us; %s%n", round, n, wall1, n / wall1, sorted[n / 2] / 1e3,
                                sorted[(int) (n * 0.99)] / 1e3, sorted[(int) (n * 0.999)] / 1e3, used1.describe(n));

                        Cpu cpuAt1 = Cpu.now();
                        long w1 = System.nanoTime();
                        long pages = pipelined(client, tl, at, db, rel, blocks, rnd, phaseNanos);
                        double wall2 = (System.nanoTime() - w1) / 1e9;
                        Cpu used2 = Cpu.now().minus(cpuAt1);
                        System.out.printf("round %d getpage depth %d: %d pages in %.1f s = %.0f pages/s; %s%n",
                                round, DEPTH, pages, wall2, pages / wall2, used2.describe(pages));
                    }
                    System.out.printf("relation: %d blocks (%d MB); layers %s; goal >= 50000 pages/s per core, p99 < 1 ms%n",
                            blocks, blocks * 8192L >> 20, t.layerCounts());
                }
            } finally {
                ps.close();
            }
        } finally {
            dev.strata.pgcore.fs.FileTrees.deleteRecursively(dir);
        }
    }

    private static final int DEPTH = 32;
    private static final int ROUNDS = 3;

    /** Keeps {@link #DEPTH} GetPages in flight (sent in one write, then awaited) for {@code nanos}; returns pages read. */
    private static long pipelined(PageserverClient client, TimelineId tl, Lsn at, int db, int rel, int blocks, Random rnd,
                                  long nanos) {
        int[] batch = new int[DEPTH];
        long pages = 0;
        long stop = System.nanoTime() + nanos;
        while (System.nanoTime() < stop) {
            for (int i = 0; i < DEPTH; i++) {
                batch[i] = rnd.nextInt(blocks);
            }
            CompletableFuture.allOf(client.getPagesAsync(tl, at, 1663, db, rel, 0, batch)).join();
            pages += DEPTH;
        }
        return pages;
    }

    /** CPU nanoseconds of the whole process and of the client's threads (main and the client's reader). */
    private record Cpu(long process, long client) {
        static Cpu now() {
            java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            long client = mx.getCurrentThreadCpuTime();
            for (Thread th : Thread.getAllStackTraces().keySet()) {
                if (th.getName().startsWith("pageserver-client-")) {
                    client += Math.max(0, mx.getThreadCpuTime(th.threadId()));
                }
            }
            return new Cpu(cpu(), client);
        }

        Cpu minus(Cpu o) {
            return new Cpu(process - o.process, client - o.client);
        }

        String describe(long pages) {
            double server = (process - client) / 1e9;
            return String.format("CPU: process %.2f s, client %.2f s, server %.2f s = %.0f pages/s per server core"
                    + " (%.0f per process core)", process / 1e9, client / 1e9, server, pages / server, pages / (process / 1e9));
        }
    }

    private static long cpu() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static String scalar(Statement s, String sql) throws Exception {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
