package dev.strata.pageserver.bench;

import dev.strata.pageserver.client.PageserverClient;
import dev.strata.pageserver.http.PageserverServer;
import dev.strata.pageserver.testing.TestPageservers;
import dev.strata.pageserver.timeline.Timeline;
import dev.strata.pageserver.timeline.TimelineManager;
import dev.strata.pageserver.timeline.WalSource;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.testing.Bench;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * GetPage@LSN on a branch at depth 3 against the same reads on its root (issue 16): a table is
 * ingested into a root timeline and flushed to a layer; a chain of three branches is made at its
 * last record; then, in rounds, one GetPage at a time (random blocks) for a few seconds on the
 * root and on the depth-3 branch, alternating. A read on the branch finds nothing in the three
 * branches' own (empty) layers and continues in each ancestor in turn: the cost of the ancestry
 * walk alone. Prints p50/p99 per round and the median of the per-round p99 ratios
 * (branch / root). Run by bench/branch-read.sh.
 */
public final class BranchReadBench {

    private record Result(int round, boolean branch, double p50us, double p99us) {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = Bench.options("bench/branch-read.sh", Map.of("rows", "200000", "rounds", "5",
                "seconds", "2"), args);
        int rows = Integer.parseInt(opt.get("rows"));
        int rounds = Integer.parseInt(opt.get("rounds"));
        long phaseNanos = Long.parseLong(opt.get("seconds")) * 1_000_000_000L;
        Path dir = Files.createTempDirectory("branch-read-bench");
        try (PostgresServer pg = PostgresServer.builder().setting("wal_level", "replica")
                .setting("autovacuum", "off").setting("wal_keep_size", "4GB").setting("max_wal_size", "4GB")
                .setting("checkpoint_timeout", "1h").setting("fsync", "off").start();
             Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
             Statement s = c.createStatement()) {
            Lsn switched = Lsn.parse(scalar(s, "SELECT pg_switch_wal()"));
            Lsn start = Lsn.ofSegment(Lsn.of(switched.value() - 1).segmentNumber(16 << 20) + 1, 16 << 20);
            s.execute("CREATE TABLE bench (id int PRIMARY KEY, v int, pad text)");
            s.execute("INSERT INTO bench SELECT g, g, repeat('x', 100) FROM generate_series(1, " + rows + ") g");
            s.execute("UPDATE bench SET v = v + 1 WHERE id % 3 = 0");
            Lsn end = Lsn.parse(scalar(s, "SELECT pg_current_wal_insert_lsn()"));
            int rel = (int) Long.parseLong(scalar(s, "SELECT pg_relation_filenode('bench')"));
            int db = (int) Long.parseLong(scalar(s, "SELECT oid FROM pg_database WHERE datname = current_database()"));
            int blocks = Integer.parseInt(scalar(s, "SELECT pg_relation_size('bench') / 8192"));

            PageserverServer ps = PageserverServer.start(TestPageservers.config(dir));
            try {
                TimelineId root = TimelineId.random();
                Timeline t = ps.node().timelines().create(new TimelineManager.CreateRequest(root, start, false, false,
                        List.of(new WalSource(pg.host(), pg.port(), pg.user(), pg.password()))));
                t.awaitLsn(end, Duration.ofMinutes(10));
                Lsn at = t.lastRecordLsn();
                t.flushNow();
                long deadline = System.nanoTime() + 60_000_000_000L;
                while (t.layerCounts().delta() == 0 && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                TimelineId parent = root;
                for (int depth = 1; depth <= 3; depth++) {
                    TimelineId child = TimelineId.random();
                    long b0 = System.nanoTime();
                    ps.node().timelines().branch(child, parent, at, List.of());
                    System.out.printf("branch at depth %d made in %.1f ms%n", depth, (System.nanoTime() - b0) / 1e6);
                    parent = child;
                }
                TimelineId deepest = parent;
                Lsn branchAt = ps.node().timelines().get(deepest).lastRecordLsn();
                try (PageserverClient client = TestPageservers.client(ps)) {
                    Random rnd = new Random(1);
                    for (int i = 0; i < 20_000; i++) { // JIT warm-up of both paths, not measured
                        client.getPage(root, at, 1663, db, rel, 0, rnd.nextInt(blocks));
                        client.getPage(deepest, branchAt, 1663, db, rel, 0, rnd.nextInt(blocks));
                    }
                    List<Result> results = new ArrayList<>();
                    for (int round = 0; round < rounds; round++) {
                        for (boolean branch : new boolean[] {round % 2 == 0, round % 2 != 0}) {
                            long[] lat = new long[2_000_000];
                            int n = 0;
                            long stop = System.nanoTime() + phaseNanos;
                            while (System.nanoTime() < stop && n < lat.length) {
                                long a = System.nanoTime();
                                if (branch) {
                                    client.getPage(deepest, branchAt, 1663, db, rel, 0, rnd.nextInt(blocks));
                                } else {
                                    client.getPage(root, at, 1663, db, rel, 0, rnd.nextInt(blocks));
                                }
                                lat[n++] = System.nanoTime() - a;
                            }
                            long[] sorted = Arrays.copyOf(lat, n);
                            Arrays.sort(sorted);
                            Result r = new Result(round, branch, sorted[n / 2] / 1e3, sorted[(int) (n * 0.99)] / 1e3);
                            results.add(r);
                            System.out.printf("round %d %-14s %7d pages, p50 %.0f us, p99 %.0f us%n", round,
                                    branch ? "depth-3 branch" : "root", n, r.p50us(), r.p99us());
                        }
                    }
                    System.out.printf("relation %d blocks (%d MB); root layers %s%n", blocks, blocks * 8192L >> 20,
                            t.layerCounts());
                    System.out.println("GetPage p99, depth-3 branch / root, median of per-round ratios: "
                            + Bench.ratioSummary(Bench.perRoundRatios(results, Result::round, r -> !r.branch(),
                            Result::branch, Result::p99us)));
                    System.out.println("GetPage p50, depth-3 branch / root, median of per-round ratios: "
                            + Bench.ratioSummary(Bench.perRoundRatios(results, Result::round, r -> !r.branch(),
                            Result::branch, Result::p50us)));
                }
            } finally {
                ps.close();
            }
        } finally {
            dev.strata.pgcore.fs.FileTrees.deleteRecursively(dir);
        }
    }

    private static String scalar(Statement s, String sql) throws Exception {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
