package dev.strata.cli.local;

import static dev.strata.cli.local.ClusterClient.waitFor;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.compute.node.ComputeState;
import dev.strata.compute.node.StartedCompute;
import dev.strata.pgcore.lsn.Lsn;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The commit path under pressure (docs/commit-path.md), on the local cluster with real
 * safekeepers and a PostgreSQL 17 compute: the slots that keep the safekeepers' WAL, a bulk
 * transaction with one safekeeper paused (SIGSTOP of its process), and the wedge detector with
 * the quorum paused.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class CommitPathTest {

    private static final long MB = 1L << 20;
    /** Small bounds so a bulk load far beyond them takes seconds, not minutes. */
    private static final long LAG_BOUND = 8 * MB;
    private static final long SLOT_KEEP = 64 * MB;
    private static final long MAX_WAL_SIZE = 64 * MB;
    private static final long SEGMENT = 16 * MB;

    @TempDir
    Path tmp;

    private LocalCluster start(boolean children, Map<String, String> settings) {
        return LocalCluster.start(new ClusterLayout(tmp.resolve("cluster")),
                new LocalCluster.Options(0, children, Duration.ofSeconds(300)).withComputeSettings(settings), s -> { });
    }

    /** Straight to the compute (not through the proxy), as the agent's superuser. */
    private static Connection direct(LocalCluster c) throws SQLException {
        StartedCompute s = c.compute().started();
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + s.port() + "/postgres",
                c.compute().spec().user(), c.compute().spec().password());
    }

    private static Map<String, Lsn> slots(Connection conn) throws SQLException {
        Map<String, Lsn> out = new HashMap<>();
        try (Statement s = conn.createStatement(); ResultSet rs = s.executeQuery(
                "SELECT slot_name, restart_lsn FROM pg_replication_slots WHERE slot_type = 'physical'")) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getString(2) == null ? null : Lsn.parse(rs.getString(2)));
            }
        }
        return out;
    }

    private static Lsn lsn(Connection conn, String sql) throws SQLException {
        try (Statement s = conn.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return Lsn.parse(rs.getString(1));
        }
    }

    @Test
    void everySafekeeperStreamsThroughItsSlotAndItsFlushAdvancesTheSlot() throws Exception {
        try (LocalCluster c = start(false, Map.of()); Connection conn = direct(c)) {
            Map<String, Lsn> before = slots(conn);
            assertThat(before).containsOnlyKeys("strata_sk_1", "strata_sk_2", "strata_sk_3");
            assertThat(before.values()).allSatisfy(l -> assertThat(l).isNotNull());
            try (Statement s = conn.createStatement()) {
                s.execute("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 10000) g");
            }
            Lsn committed = lsn(conn, "SELECT pg_current_wal_flush_lsn()");
            waitFor(() -> {
                try {
                    return slots(conn).values().stream().allMatch(l -> l != null && !l.isBefore(committed));
                } catch (SQLException e) {
                    return false;
                }
            }, Duration.ofSeconds(60), "every slot to advance to " + committed);
            try (Statement s = conn.createStatement(); ResultSet rs = s.executeQuery(
                    "SELECT count(*) FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid "
                            + "WHERE s.slot_name = 'strata_' || replace(r.application_name, '-', '_')")) {
                rs.next();
                assertThat(rs.getInt(1)).as("walsenders streaming through their own safekeeper's slot").isEqualTo(3);
            }
            assertThat(c.statusReport()).contains("commit path: insert").contains("throttling no")
                    .contains("slot strata_sk_1");
        }
    }

    @Test
    void aBulkTransactionWithOneSafekeeperPausedCommitsAndPgWalStaysBounded() throws Exception {
        // wal_consistency_checking=all: every row carries its page, so the load writes far beyond the bounds.
        Map<String, String> settings = Map.of("strata.max_replication_flush_lag", (LAG_BOUND >> 20) + "MB",
                "max_slot_wal_keep_size", (SLOT_KEEP >> 20) + "MB", "max_wal_size", (MAX_WAL_SIZE >> 20) + "MB",
                "wal_consistency_checking", "all");
        try (LocalCluster c = start(true, settings)) {
            LocalSafekeeper paused = c.safekeepers().get(2);
            long pid = paused.pid().orElseThrow();
            Path pgWal = c.compute().spec().dataDir().resolve("pg_wal");
            AtomicLong maxPgWal = new AtomicLong();
            AtomicBoolean sampling = new AtomicBoolean(true);
            CompletableFuture<Void> sampler = CompletableFuture.runAsync(() -> {
                while (sampling.get()) {
                    maxPgWal.accumulateAndGet(size(pgWal), Math::max);
                    sleep(50);
                }
            });
            long rows = 60_000;
            Lsn start;
            Lsn end;
            try (Connection conn = direct(c); Statement s = conn.createStatement()) {
                s.execute("CREATE TABLE bulk (id int, v text)");
                start = lsn(conn, "SELECT pg_current_wal_insert_lsn()");
                signal("STOP", pid);
                try {
                    // One transaction; every row is a record with a page image (wal_consistency_checking).
                    s.execute("INSERT INTO bulk SELECT g, repeat('x', 100) FROM generate_series(1, " + rows + ") g");
                    end = lsn(conn, "SELECT pg_current_wal_insert_lsn()");
                    assertThat(ClusterClient.count(conn, "SELECT count(*) FROM bulk")).isEqualTo(rows);
                } finally {
                    signal("CONT", pid);
                }
            } finally {
                sampling.set(false);
            }
            sampler.get(30, TimeUnit.SECONDS);
            long written = end.minus(start);
            assertThat(written).as("the transaction wrote several times the lag bound").isGreaterThan(4 * LAG_BOUND);
            // The bound docs/commit-path.md claims: the paused safekeeper's slot holds at most
            // max_slot_wal_keep_size behind a checkpoint; WAL since the previous checkpoint's redo
            // reaches max_wal_size before a (spread) checkpoint removes anything, and the one in
            // progress adds up to max_wal_size more; segments recycled for reuse count up to
            // max_wal_size; plus two segments (the one being filled and the next).
            long bound = SLOT_KEEP + 3 * MAX_WAL_SIZE + 2 * SEGMENT;
            assertThat(maxPgWal.get()).as("largest pg_wal while %d MB of WAL were written", written >> 20)
                    .isLessThanOrEqualTo(bound);
            // The resumed safekeeper's slot was given up: it says so instead of looping silently.
            if (written > SLOT_KEEP + 2 * MAX_WAL_SIZE) {
                waitFor(() -> c.statusReport().contains("wal-removed"), Duration.ofSeconds(60),
                        "the resumed safekeeper to report its WAL removed from the compute");
                // The agent re-created the invalidated slot: one slot per safekeeper again.
                waitFor(() -> c.compute().commitPath().slotsRecreated() >= 1, Duration.ofSeconds(60),
                        "the invalidated slot to be re-created");
                try (Connection conn = direct(c)) {
                    assertThat(slots(conn)).containsOnlyKeys("strata_sk_1", "strata_sk_2", "strata_sk_3");
                }
            }
            System.out.printf("bulk: %d MB of WAL, max pg_wal %d MB (bound %d MB); %s%n", written >> 20,
                    maxPgWal.get() >> 20, bound >> 20, c.compute().commitPath().line());
        }
    }

    @Test
    void commitsWaitingOnAPausedQuorumAreAWedgeAndTheComputeIsReplaced() throws Exception {
        Map<String, String> settings = Map.of("strata.commit_wedge_timeout", "3s");
        try (LocalCluster c = start(true, settings)) {
            StartedCompute before = c.compute().started();
            List<Long> pids = Stream.of(c.safekeepers().get(1), c.safekeepers().get(2))
                    .map(sk -> sk.pid().orElseThrow()).toList();
            CompletableFuture<Void> commit;
            try (Connection conn = direct(c)) {
                try (Statement s = conn.createStatement()) {
                    s.execute("CREATE TABLE w (v int)");
                }
                pids.forEach(p -> signal("STOP", p));
                try {
                    commit = CompletableFuture.runAsync(() -> {
                        try (Statement s = conn.createStatement()) {
                            s.execute("INSERT INTO w VALUES (1)");
                        } catch (SQLException e) {
                            throw new RuntimeException(e);
                        }
                    });
                    waitFor(() -> c.compute().wedgeCount() == 1, Duration.ofSeconds(60), "the wedge to be detected");
                    assertThat(c.compute().failure()).contains("commit path wedged")
                            .contains("waited").contains("sk-2").contains("sk-3");
                    assertThat(c.compute().commitPath().wedged()).contains("quorum's flush position stood at");
                } finally {
                    pids.forEach(p -> signal("CONT", p));
                }
                // The waiting commit ended with the compute (it was never acknowledged).
                assertThat(commit).failsWithin(Duration.ofSeconds(60));
            }
            waitFor(() -> c.compute().state() == ComputeState.RUNNING && c.compute().started() != null
                    && c.compute().started().term().isAfter(before.term()), Duration.ofSeconds(120),
                    "a new compute after the wedge");
            assertThat(c.statusReport()).contains("replaced 1 time(s) for a wedged commit path");
            try (Connection conn = direct(c); Statement s = conn.createStatement()) {
                s.execute("INSERT INTO w VALUES (2)");
                assertThat(ClusterClient.count(conn, "SELECT count(*) FROM w WHERE v = 2")).isEqualTo(1);
            }
        }
    }

    private static long size(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (IOException e) {
                    return 0; // removed meanwhile
                }
            }).sum();
        } catch (IOException e) {
            return 0;
        }
    }

    private static void signal(String signal, long pid) {
        try {
            Process p = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start();
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("kill -" + signal + " " + pid + " failed");
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
