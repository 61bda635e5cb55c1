package dev.strata.pageserver.bench;

import dev.strata.pageserver.client.PageserverClient;
import dev.strata.pageserver.http.PageserverServer;
import dev.strata.pageserver.ingest.TimelineBase;
import dev.strata.pageserver.initdb.InitdbImport;
import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.ImageLayer;
import dev.strata.pageserver.layer.Redo;
import dev.strata.pageserver.layer.Value;
import dev.strata.pageserver.redo.PageserverRedo;
import dev.strata.pageserver.testing.TestPageservers;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pageserver.timeline.StorageConfig;
import dev.strata.pageserver.timeline.Timeline;
import dev.strata.pageserver.timeline.TimelineConfig;
import dev.strata.pageserver.timeline.WalSource;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.testing.Bench;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Issue 14's GetPage figures with redo: {@code bench/getpage-redo.sh}. In one run:
 * <ol>
 * <li>A PG 17 primary with the compute's WAL settings ({@code wal_level=replica},
 * {@code full_page_writes=on}, {@code fsync=off}, {@code wal_consistency_checking} from
 * {@code ComputeSettings}, i.e. empty: every record is replayed in Java; checkpoints, autovacuum
 * and max_wal_size at PostgreSQL's defaults, as on a compute; no data checksums, as
 * {@code strata up}) streams to a timeline imported from its initdb, loaded by an in-process
 * pageserver with its default storage config (the real ingest path: chain cap,
 * flushes, image compaction as the pageserver runs them) while it runs {@code pgbench -i -s
 * SCALE} then {@code pgbench -T DURATION} tpcb-like. The primary is then stopped, so the last
 * LSN is fixed.</li>
 * <li>Chains: a fixed sample of random blocks of the pgbench tables and indexes (uniform over
 * their blocks) is read in this thread through {@code LayerStore.getValue} with a counting
 * {@link PageserverRedo}: records replayed per page (mean, p50, p99, max), bytes replayed, and
 * redo throughput in records/s per core (records / time inside {@code apply}, this thread only;
 * the thread's CPU/wall over the pass is printed, 1.00 when it was never descheduled).</li>
 * <li>GetPage over the page service on loopback at the last LSN, random blocks of those
 * relations: depth 1 (latency) and pipelined depth 32 (pages/s; per server core = pages /
 * server CPU seconds, as {@link PageserverBench} defines it), ROUNDS rounds of SECONDS/2 each,
 * after a warm-up. <b>With redo</b>: the layers as the pageserver left them.</li>
 * <li><b>Image-only</b>, the same pages at the same LSN: the pageserver is closed (it flushes),
 * the timeline's store is reopened alone and image-compacted with a creation threshold of 1 (an
 * image layer at the last LSN for every key range with any delta above its image), the
 * pageserver restarted on the same directory, and the same rounds run again. The sample is read
 * again with the counting redo to show that no page replays anything.</li>
 * </ol>
 * Figures on a shared machine; nothing is asserted. Load averages are printed at each step.
 *
 * <pre>
 * GetPageRedoBench [--scale 10] [--duration 600] [--clients 4] [--jobs 2] [--seconds 10] [--rounds 3]
 *                  [--sample 20000] [--wal-consistency-checking compute] [--pgbench /usr/bin/pgbench]
 * </pre>
 */
public final class GetPageRedoBench {

    private static final int DEPTH = 32;
    private static final String[] RELATIONS = {"pgbench_accounts", "pgbench_branches", "pgbench_tellers",
        "pgbench_history", "pgbench_accounts_pkey", "pgbench_branches_pkey", "pgbench_tellers_pkey"};

    /** Blocks of the pgbench relations at the read LSN; a random pick is uniform over all their blocks. */
    private record Relations(String[] names, int[] relNumbers, int[] blocks, long total) {
        int pick(Random rnd) {
            long b = (long) (rnd.nextDouble() * total);
            for (int i = 0; i < blocks.length; i++) {
                if (b < blocks[i]) {
                    return i;
                }
                b -= blocks[i];
            }
            return blocks.length - 1;
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> defaults = new LinkedHashMap<>();
        defaults.put("scale", "10");
        defaults.put("duration", "600");
        defaults.put("clients", "4");
        defaults.put("jobs", "2");
        defaults.put("seconds", "10");
        defaults.put("rounds", "3");
        defaults.put("sample", "20000");
        defaults.put("wal-consistency-checking", "compute");
        defaults.put("pgbench", "/usr/bin/pgbench");
        Map<String, String> opt = Bench.options("GetPageRedoBench", defaults, args);
        String wcc = Bench.walConsistencyChecking(opt.get("wal-consistency-checking"));
        int seconds = Integer.parseInt(opt.get("seconds"));
        int rounds = Integer.parseInt(opt.get("rounds"));
        int sample = Integer.parseInt(opt.get("sample"));
        String pgbench = opt.get("pgbench");
        System.out.printf("GetPageRedoBench %s; wal_consistency_checking = '%s'; %s%n", opt, wcc, load());

        Path dir = Files.createTempDirectory("getpage-redo-bench");
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("wal_level", "replica");
        settings.put("full_page_writes", "on");
        settings.put("fsync", "off");
        settings.put("wal_consistency_checking", wcc);
        // Only so the walsender never loses WAL the timeline has not streamed yet; it changes no record.
        settings.put("wal_keep_size", "16GB");
        try (PostgresServer pg = PostgresServer.builder().settings(settings).start()) {
            // The timeline is imported from the primary's initdb, as a Strata timeline created
            // with initdb is (TimelineManager.create does these steps; here the data directory is
            // the primary's own, so the primary needs no basebackup), and written into the
            // pageserver's data directory before it starts, which loads it and streams from the
            // primary. A WAL-only timeline would lack the pages older than its start (the CLOG
            // page every transaction writes), and its image compaction would fail on them.
            pg.stop();
            InitdbImport.Inspected inspected = InitdbImport.inspect(pg.dataDir());
            TimelineId tl = TimelineId.random();
            Path psDir = dir.resolve("pageserver");
            Path tlDir = psDir.resolve("timelines").resolve(tl.toString());
            try (LayerStore store = LayerStore.create(tlDir.resolve("layers"), tl, inspected.checkpointLsn(),
                    StorageConfig.DEFAULTS)) {
                InitdbImport.importInto(pg.dataDir(), inspected, store);
                store.position().recordIngested(inspected.endLsn(), inspected.checkpointLsn());
                store.freezeAndFlush();
            }
            pg.start();
            new TimelineConfig(tl, inspected.endLsn(), TimelineBase.IMPORTED, inspected.dataChecksums(),
                    List.of(new WalSource(pg.host(), pg.port(), pg.user(), pg.password())), null, Lsn.INVALID,
                    inspected.checkpointLsn()).write(tlDir);
            Lsn start = inspected.endLsn();
            PageserverServer ps = PageserverServer.start(TestPageservers.config(psDir));
            Lsn at;
            Relations rels;
            int dbOid;
            Path storeDir;
            try {
                Timeline t = ps.node().timelines().get(tl);
                long w0 = System.nanoTime();
                exec(List.of(pgbench, "-i", "-q", "-s", opt.get("scale"), pg.connectionUri("postgres")));
                System.out.printf("pgbench -i -s %s: %.0f s%n", opt.get("scale"), (System.nanoTime() - w0) / 1e9);
                String out = exec(List.of(pgbench, "-n", "-c", opt.get("clients"), "-j", opt.get("jobs"), "-T",
                        opt.get("duration"), pg.connectionUri("postgres")));
                out.lines().filter(l -> l.startsWith("number of transactions actually processed") || l.startsWith("tps"))
                        .forEach(l -> System.out.println("pgbench: " + l));
                int[] relNumbers = new int[RELATIONS.length];
                Lsn flushed;
                try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres")); Statement s = c.createStatement()) {
                    dbOid = Integer.parseInt(scalar(s, "SELECT oid FROM pg_database WHERE datname = 'postgres'"));
                    for (int i = 0; i < RELATIONS.length; i++) {
                        relNumbers[i] = Integer.parseInt(scalar(s, "SELECT pg_relation_filenode('" + RELATIONS[i] + "')"));
                    }
                    flushed = Lsn.parse(scalar(s, "SELECT pg_current_wal_flush_lsn()"));
                    System.out.printf("WAL since the timeline's start: %.0f MB; %s%n", flushed.minus(start) / 1e6, load());
                }
                // Wait until ingest has reached the primary's flush LSN and been still for 3 s,
                // then kill the primary (a fast shutdown would wait for the walsender's flush
                // feedback, which follows the pageserver's layer flushes): the last record LSN
                // ingested is where everything is read.
                long i0 = System.nanoTime();
                settle(t, flushed, i0);
                pg.kill();
                at = settle(t, flushed, i0);
                t.flushNow();
                storeDir = t.store().directory();
                System.out.printf("ingested to %s (%.1f s after pgbench ended, primary killed); layers %s%n", at,
                        (System.nanoTime() - i0) / 1e9, t.layerCounts());
                try (PageserverClient client = TestPageservers.client(ps)) {
                    int[] blocks = new int[RELATIONS.length];
                    long total = 0;
                    for (int i = 0; i < RELATIONS.length; i++) {
                        blocks[i] = (int) client.relationSize(tl, at, 1663, dbOid, relNumbers[i], 0);
                        total += blocks[i];
                    }
                    rels = new Relations(RELATIONS, relNumbers, blocks, total);
                    for (int i = 0; i < RELATIONS.length; i++) {
                        System.out.printf("  %-22s %7d blocks%n", RELATIONS[i], blocks[i]);
                    }
                    System.out.println("== WITH REDO (layers as the pageserver left them) ==");
                    warmUp(client, tl, at, dbOid, rels);
                    chains(t.store(), dbOid, at, rels, sample, "with redo");
                    getPages(client, tl, at, dbOid, rels, seconds, rounds, "with redo");
                }
            } finally {
                ps.close();
            }

            // Image-only: the same pages at the same LSN, every one covered by an image layer at `at`.
            try (LayerStore store = LayerStore.open(storeDir, StorageConfig.DEFAULTS.withImageCreationThreshold(1))) {
                long c0 = System.nanoTime();
                if (!store.diskConsistentLsn().equals(at)) {
                    throw new IllegalStateException("disk-consistent LSN " + store.diskConsistentLsn() + " is not " + at);
                }
                List<ImageLayer> images = store.compact(new PageserverRedo());
                System.out.printf("%n== IMAGE-ONLY (same pages, same LSN: %d image layers written at %s in %.1f s) ==%n",
                        images.size(), at, (System.nanoTime() - c0) / 1e9);
            }
            PageserverServer ps2 = PageserverServer.start(TestPageservers.config(psDir));
            try (PageserverClient client = TestPageservers.client(ps2)) {
                Timeline t2 = ps2.node().timelines().get(tl);
                System.out.printf("layers %s%n", t2.layerCounts());
                warmUp(client, tl, at, dbOid, rels);
                chains(t2.store(), dbOid, at, rels, sample, "image-only");
                getPages(client, tl, at, dbOid, rels, seconds, rounds, "image-only");
            } finally {
                ps2.close();
            }
            System.out.printf("%ngoal (issue 14): with redo p99 < 1 ms at depth 1, >= 50000 pages/s per core at depth %d; %s%n",
                    DEPTH, load());
        } finally {
            dev.strata.pgcore.fs.FileTrees.deleteRecursively(dir);
        }
    }

    /**
     * Waits until the timeline's last record LSN is within a WAL page of {@code target} (the end
     * of the last record can sit before a page header the flush LSN is past) and has not moved
     * for 3 s; returns it.
     */
    private static Lsn settle(Timeline t, Lsn target, long since) throws InterruptedException {
        Lsn last = t.lastRecordLsn();
        long stillSince = System.nanoTime();
        while (System.nanoTime() - stillSince < 3_000_000_000L || last.value() + 8192 < target.value()) {
            if (System.nanoTime() - since > 1_200_000_000_000L) {
                throw new IllegalStateException("ingest at " + last + " did not reach " + target + " in 20 minutes");
            }
            Thread.sleep(200);
            Lsn now = t.lastRecordLsn();
            if (!now.equals(last)) {
                last = now;
                stillSince = System.nanoTime();
            }
        }
        return last;
    }

    /** JIT warm-up of both GetPage paths, not measured: 20 000 one at a time, 3 s pipelined. */
    private static void warmUp(PageserverClient client, TimelineId tl, Lsn at, int db, Relations rels) {
        Random rnd = new Random(7);
        for (int i = 0; i < 20_000; i++) {
            int r = rels.pick(rnd);
            client.getPage(tl, at, 1663, db, rels.relNumbers()[r], 0, rnd.nextInt(rels.blocks()[r]));
        }
        pipelined(client, tl, at, db, rels, rnd, 3_000_000_000L);
    }

    /**
     * Reads {@code sample} random blocks (fixed seed: the same blocks in both phases) in this
     * thread with a counting redo; prints the chain distribution and redo's records/s per core.
     * Twice: the first pass warms the JIT, the second is printed.
     */
    private static void chains(LayerStore store, int db, Lsn at, Relations rels, int sample, String phase) {
        PageserverRedo redo = new PageserverRedo();
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        for (int pass = 1; pass <= 2; pass++) {
            Random rnd = new Random(42);
            int[] chain = new int[sample];
            long[] bytes = new long[sample];
            long[] redoNanos = new long[2]; // wall, this thread's CPU
            int[] current = new int[1];
            Redo counting = (key, base, records) -> {
                long b = 0;
                for (Value.Record r : records) {
                    b += r instanceof Value.WalRecord w ? w.payload().length : 0;
                }
                long c0 = mx.getCurrentThreadCpuTime();
                long t0 = System.nanoTime();
                byte[] page = redo.apply(key, base, records);
                redoNanos[0] += System.nanoTime() - t0;
                redoNanos[1] += mx.getCurrentThreadCpuTime() - c0;
                chain[current[0]] = records.size();
                bytes[current[0]] = b;
                return page;
            };
            long cpu0 = mx.getCurrentThreadCpuTime();
            long w0 = System.nanoTime();
            for (int i = 0; i < sample; i++) {
                int r = rels.pick(rnd);
                current[0] = i;
                store.getValue(Key.relationBlock(1663, db, rels.relNumbers()[r], 0, rnd.nextInt(rels.blocks()[r])), at,
                        counting);
            }
            double wall = (System.nanoTime() - w0) / 1e9;
            double cpu = (mx.getCurrentThreadCpuTime() - cpu0) / 1e9;
            if (pass == 1) {
                continue;
            }
            int[] replayed = Arrays.stream(chain).filter(x -> x > 0).sorted().toArray();
            long records = Arrays.stream(chain).asLongStream().sum();
            long totalBytes = Arrays.stream(bytes).sum();
            int[] all = chain.clone();
            Arrays.sort(all);
            System.out.printf("chains (%s), %d random blocks read in-process at %s: %d replayed (%.1f%%), %d were images%n",
                    phase, sample, at, replayed.length, 100.0 * replayed.length / sample, sample - replayed.length);
            System.out.printf("  records replayed per page, all sampled pages:    mean %.2f, p50 %d, p99 %d, max %d%n",
                    (double) records / sample, all[sample / 2], all[(int) (sample * 0.99)], all[sample - 1]);
            if (replayed.length > 0) {
                int n = replayed.length;
                System.out.printf("  records replayed per page, pages with records: mean %.2f, p50 %d, p99 %d, max %d%n",
                        (double) records / n, replayed[n / 2], replayed[(int) (n * 0.99)], replayed[n - 1]);
                long[] b = Arrays.stream(bytes).filter(x -> x > 0).sorted().toArray();
                System.out.printf("  bytes replayed per page with records: mean %.0f, p50 %d, p99 %d, max %d; %d records,"
                        + " %.1f MB in all%n", (double) totalBytes / n, b[n / 2], b[(int) (n * 0.99)], b[n - 1],
                        records, totalBytes / 1e6);
                double redoWall = redoNanos[0] / 1e9;
                double redoCpu = redoNanos[1] / 1e9;
                System.out.printf("  redo: %d records in %.3f s of CPU inside PageserverRedo.apply = %.0f records/s per core"
                                + " (%.0f pages/s per core; by wall time inside apply %.0f records/s); the pass: %.2f s wall,"
                                + " thread CPU/wall %.2f, %.0f pages/s one thread%n",
                        records, redoCpu, records / redoCpu, n / redoCpu, records / redoWall, wall, cpu / wall, sample / wall);
            }
        }
    }

    private static void getPages(PageserverClient client, TimelineId tl, Lsn at, int db, Relations rels, int seconds,
                                 int rounds, String phase) {
        System.out.printf("GetPage (%s) over loopback; %s%n", phase, load());
        Random rnd = new Random(1);
        long phaseNanos = seconds * 1_000_000_000L / 2;
        for (int round = 1; round <= rounds; round++) {
            long[] lat = new long[5_000_000];
            int n = 0;
            Cpu cpu0 = Cpu.now();
            long w0 = System.nanoTime();
            long stop = w0 + phaseNanos;
            while (System.nanoTime() < stop && n < lat.length) {
                int r = rels.pick(rnd);
                long a = System.nanoTime();
                client.getPage(tl, at, 1663, db, rels.relNumbers()[r], 0, rnd.nextInt(rels.blocks()[r]));
                lat[n++] = System.nanoTime() - a;
            }
            double wall1 = (System.nanoTime() - w0) / 1e9;
            Cpu used1 = Cpu.now().minus(cpu0);
            long[] sorted = Arrays.copyOf(lat, n);
            Arrays.sort(sorted);
            System.out.printf("  %s round %d depth 1: %d pages in %.1f s = %.0f pages/s, p50 %.0f us, p99 %.0f us,"
                            + " p99.9 %.0f us; %s%n", phase, round, n, wall1, n / wall1, sorted[n / 2] / 1e3,
                    sorted[(int) (n * 0.99)] / 1e3, sorted[(int) (n * 0.999)] / 1e3, used1.describe(n));
            Cpu cpu1 = Cpu.now();
            long w1 = System.nanoTime();
            long pages = pipelined(client, tl, at, db, rels, rnd, phaseNanos);
            double wall2 = (System.nanoTime() - w1) / 1e9;
            Cpu used2 = Cpu.now().minus(cpu1);
            System.out.printf("  %s round %d depth %d: %d pages in %.1f s = %.0f pages/s; %s%n", phase, round, DEPTH,
                    pages, wall2, pages / wall2, used2.describe(pages));
        }
        System.out.printf("  after the rounds: %s%n", load());
    }

    /**
     * Keeps {@link #DEPTH} GetPages in flight for {@code nanos}: each batch of random blocks is
     * sent (one write per relation in the batch), then awaited. Returns pages read.
     */
    private static long pipelined(PageserverClient client, TimelineId tl, Lsn at, int db, Relations rels, Random rnd,
                                  long nanos) {
        int n = rels.blocks().length;
        int[][] byRel = new int[n][DEPTH];
        int[] counts = new int[n];
        List<CompletableFuture<byte[]>> inFlight = new ArrayList<>(DEPTH);
        long pages = 0;
        long stop = System.nanoTime() + nanos;
        while (System.nanoTime() < stop) {
            Arrays.fill(counts, 0);
            for (int i = 0; i < DEPTH; i++) {
                int r = rels.pick(rnd);
                byRel[r][counts[r]++] = rnd.nextInt(rels.blocks()[r]);
            }
            inFlight.clear();
            for (int r = 0; r < n; r++) {
                if (counts[r] > 0) {
                    inFlight.addAll(Arrays.asList(client.getPagesAsync(tl, at, 1663, db, rels.relNumbers()[r], 0,
                            Arrays.copyOf(byRel[r], counts[r]))));
                }
            }
            CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new)).join();
            pages += DEPTH;
        }
        return pages;
    }

    /** CPU nanoseconds of the whole process and of the client's threads (main and the client's reader). */
    private record Cpu(long process, long client) {
        static Cpu now() {
            ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            long client = mx.getCurrentThreadCpuTime();
            for (Thread th : Thread.getAllStackTraces().keySet()) {
                if (th.getName().startsWith("pageserver-client-")) {
                    client += Math.max(0, mx.getThreadCpuTime(th.threadId()));
                }
            }
            return new Cpu(((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                    .getProcessCpuTime(), client);
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

    private static String load() {
        return String.format("load average %.2f (%d cores)",
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(),
                Runtime.getRuntime().availableProcessors());
    }

    private static String scalar(Statement s, String sql) throws Exception {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** Runs {@code cmd} to completion (at most an hour); returns its output, throws on a non-zero exit. */
    private static String exec(List<String> cmd) throws Exception {
        Path log = Files.createTempFile("getpage-redo-bench", ".log");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(60, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException(cmd.get(0) + " timed out");
            }
            String out = Files.readString(log);
            if (p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", cmd) + " failed:\n" + out);
            }
            return out;
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
