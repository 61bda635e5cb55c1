package dev.strata.safekeeper.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.testing.SmallFilesystem;
import dev.strata.safekeeper.client.SafekeeperClient;
import dev.strata.safekeeper.election.Proposer;
import dev.strata.safekeeper.http.Dto;
import dev.strata.safekeeper.testing.TestSafekeepers;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real PostgreSQL 17 compute streaming to three safekeeper processes, one of which has its data
 * directory on a small real tmpfs that fills up: that safekeeper acknowledges nothing it has not
 * stored (a commit that needs it waits), says why in its status, and catches up by itself,
 * without a restart, once space is freed.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DiskFullSafekeeperTest {

    @Test
    void aFullSafekeeperAcknowledgesNothingAndResumesOnceSpaceIsFreed(
            @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
        // Room for four 16 MiB segments: the first and the spare zero-filled ahead for the next
        // (SegmentedWalStore preallocation) exist before the disk is filled, the others after it is freed.
        try (SmallFilesystem fs = SmallFilesystem.mountAt(dir.resolve("sk-1"), 72);
             SafekeeperCluster sks = SafekeeperCluster.start(dir, 3);
             PostgresServer compute = PostgresServer.builder().settings(sks.computeSettings())
                     .setting("log_replication_commands", "on").start()) {
            TimelineId tl = sks.createTimeline(compute, SafekeeperCluster.currentLsn(compute));
            Proposer proposer = sks.proposer(tl);
            Proposer.Result elected = proposer.elect();
            proposer.streamFrom(SafekeeperCluster.address(elected, compute));
            SafekeeperClient full = TestSafekeepers.client(sks.node(1).url());

            try (Connection c = DriverManager.getConnection(compute.jdbcUrl("postgres"));
                 Statement s = c.createStatement()) {
                s.execute("CREATE TABLE t (id int)");
                s.execute("INSERT INTO t VALUES (1)");
                await(() -> streaming(s) == 3, "all three safekeepers streaming");

                fs.fill();
                // WAL moves into the next segment, which sk-1 has ready (its spare), then into the
                // one after, which it cannot create.
                s.execute("SELECT pg_switch_wal()");
                s.execute("INSERT INTO t VALUES (2)"); // acknowledged by sk-2 and sk-3
                s.execute("SELECT pg_switch_wal()");
                s.execute("INSERT INTO t VALUES (2)");
                Lsn committed = SafekeeperCluster.currentLsn(compute);
                await(() -> receiver(full, tl).contains("No space left on device"), "sk-1 says its disk is full");
                assertThat(flush(full, tl)).as("sk-1 holds nothing of the new segment")
                        .isLessThan(committed).isEqualTo(flush(full, tl).segmentStart(16 << 20));
                assertThat(acknowledgedBy(s, "sk-1")).as("the compute never got a flush position beyond what sk-1 stored")
                        .isLessThanOrEqualTo(flush(full, tl));
                // A safekeeper whose disk is full backs off: it does not reconnect every 50 ms,
                // each time starting a walsender on the compute (it used to, ~60 times a second).
                // sk-2 and sk-3 stay connected, so every new START_REPLICATION now is sk-1's.
                Thread.sleep(4_000); // the backoff grows to its 2 s ceiling within ~3 s
                long startsBefore = replicationStarts(compute);
                Thread.sleep(4_000);
                assertThat(replicationStarts(compute) - startsBefore).as("sk-1's reconnects in 4 s with its disk full")
                        .isLessThanOrEqualTo(4);

                // With sk-3 gone, a commit needs sk-1: it must wait, not be acknowledged.
                sks.node(3).kill9();
                CompletableFuture<Void> commit = CompletableFuture.runAsync(() -> {
                    try (Connection c2 = DriverManager.getConnection(compute.jdbcUrl("postgres"));
                         Statement s2 = c2.createStatement()) {
                        s2.execute("INSERT INTO t VALUES (3)");
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                }, r -> Thread.ofVirtual().start(r));
                try {
                    commit.get(3, TimeUnit.SECONDS);
                    throw new AssertionError("a commit returned while one safekeeper was down and another's disk full");
                } catch (TimeoutException expected) {
                    // waiting for sk-1, as it must
                }

                fs.free();
                commit.get(120, TimeUnit.SECONDS); // sk-1 resumed by itself: no restart
                Lsn after = SafekeeperCluster.currentLsn(compute);
                await(() -> !flush(full, tl).isBefore(after), "sk-1 catches up");
                try (ResultSet rs = s.executeQuery("SELECT count(*) FROM t")) {
                    rs.next();
                    assertThat(rs.getInt(1)).isEqualTo(4);
                }
            }
        }
    }

    private static long replicationStarts(PostgresServer compute) throws java.io.IOException {
        try (java.util.stream.Stream<String> lines = java.nio.file.Files.lines(compute.logFile())) {
            return lines.filter(l -> l.contains("received replication command: START_REPLICATION")).count();
        }
    }

    private static int streaming(Statement s) {
        try (ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")) {
            rs.next();
            return rs.getInt(1);
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    private static Lsn acknowledgedBy(Statement s, String name) throws Exception {
        try (ResultSet rs = s.executeQuery("SELECT coalesce(max(flush_lsn), '0/0') FROM pg_stat_replication"
                + " WHERE application_name = '" + name + "'")) {
            rs.next();
            return Lsn.parse(rs.getString(1));
        }
    }

    private static Dto.Status status(SafekeeperClient sk, TimelineId tl) {
        return sk.status(tl);
    }

    private static Lsn flush(SafekeeperClient sk, TimelineId tl) {
        return Lsn.parse(status(sk, tl).flushLsn());
    }

    private static String receiver(SafekeeperClient sk, TimelineId tl) {
        return String.valueOf(status(sk, tl).receiver());
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 120 s: " + what);
            }
            Thread.sleep(100);
        }
    }
}
