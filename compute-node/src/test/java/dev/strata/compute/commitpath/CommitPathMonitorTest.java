package dev.strata.compute.commitpath;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.replication.ReplicationSlotName;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The monitor against a stock PostgreSQL 17 with no safekeeper connected: its slots then stand
 * at the redo pointer, so a writer makes the "quorum" lag grow and the throttle must engage,
 * with real SIGSTOP/SIGCONT, and leave no backend stopped.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class CommitPathMonitorTest {

    private static final List<NodeId> THREE = List.of(NodeId.of("sk-1"), NodeId.of("sk-2"), NodeId.of("sk-3"));

    private static PostgresServer server() {
        return PostgresServer.builder().settings(Map.of("wal_level", "replica", "max_wal_senders", "5",
                "max_slot_wal_keep_size", "256MB", "fsync", "off")).start();
    }

    @Test
    void slotsAreCreatedAtTheRedoPointerAndCreatingThemAgainChangesNothing() throws Exception {
        try (PostgresServer pg = server();
             Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"), pg.user(), pg.password())) {
            List<ReplicationSlotName> names = THREE.stream().map(ReplicationSlotName::forSafekeeper).toList();
            assertThat(ReplicationSlots.ensure(c, names)).isZero();
            var slots = ReplicationSlots.read(c);
            assertThat(slots.keySet()).extracting(ReplicationSlotName::value)
                    .containsExactly("strata_sk_1", "strata_sk_2", "strata_sk_3");
            Lsn redo;
            try (Statement s = c.createStatement(); var rs = s.executeQuery("SELECT redo_lsn FROM pg_control_checkpoint()")) {
                rs.next();
                redo = Lsn.parse(rs.getString(1));
            }
            assertThat(slots.values()).allSatisfy(slot -> {
                assertThat(slot.restartLsn()).as("immediately reserved at the redo pointer").isEqualTo(redo);
                assertThat(slot.walStatus()).isEqualTo("reserved");
            });
            assertThat(ReplicationSlots.ensure(c, names)).isZero();
            assertThat(ReplicationSlots.read(c)).isEqualTo(slots);
        }
    }

    @Test
    void aWriterOverTheBoundIsDutyCycledAndNeverLeftStopped() throws Exception {
        List<Long> stopped = new CopyOnWriteArrayList<>();
        BackendSignals real = BackendSignals.kill();
        BackendSignals recording = new BackendSignals() {
            @Override
            public void stop(Collection<Long> pids) {
                stopped.addAll(pids);
                real.stop(pids);
            }

            @Override
            public void cont(Collection<Long> pids) {
                real.cont(pids);
            }
        };
        try (PostgresServer pg = server()) {
            CommitPathSettings settings = new CommitPathSettings(2L << 20, Duration.ofMillis(50), Duration.ofSeconds(60));
            long writerPid;
            CommitPathMonitor monitor = new CommitPathMonitor("t", pg.jdbcUrl("postgres"), pg.user(), pg.password(), THREE,
                    2, settings, recording, reason -> { });
            try (Connection writer = DriverManager.getConnection(pg.jdbcUrl("postgres"), pg.user(), pg.password())) {
                monitor.start();
                try (Statement s = writer.createStatement()) {
                    s.execute("CREATE TABLE t (id int, v text)");
                    var rs = s.executeQuery("SELECT pg_backend_pid()");
                    rs.next();
                    writerPid = rs.getLong(1);
                }
                // ~60 MB of WAL with no safekeeper taking any: far over the 2 MB bound.
                CompletableFuture<Void> load = CompletableFuture.runAsync(() -> {
                    try (Statement s = writer.createStatement()) {
                        s.execute("INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(1, 200000) g");
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                });
                waitFor(() -> monitor.status().throttling(), Duration.ofSeconds(60), "throttling to engage");
                // Engages from half the bound, or earlier on a fast-growing lag (ThrottlePolicy).
                assertThat(monitor.status().flushLag()).isPositive();
                load.get(120, TimeUnit.SECONDS); // duty-cycled, it still finishes
                assertThat(stopped).contains(writerPid);
                assertThat(monitor.status().throttledTotal()).isPositive();
                assertThat(monitor.status().line()).contains("throttled").contains("bound 2 MB").contains("peak lag");
                assertThat(monitor.status().peakFlushLag()).isGreaterThanOrEqualTo(monitor.status().flushLag());
                monitor.close();
                assertThat(processState(writerPid)).as("after close no backend is left stopped").isNotEqualTo("T");
                try (Statement s = writer.createStatement(); var rs = s.executeQuery("SELECT count(*) FROM t")) {
                    rs.next();
                    assertThat(rs.getLong(1)).isEqualTo(200000);
                }
            } finally {
                monitor.close();
            }
        }
    }

    /** The state letter of /proc/pid/stat (T: stopped). */
    private static String processState(long pid) throws Exception {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        return stat.substring(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    }

    private static void waitFor(BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what);
            }
            Thread.sleep(20);
        }
    }
}
