package dev.strata.cli.local;

import static dev.strata.cli.local.ClusterClient.connect;
import static dev.strata.cli.local.ClusterClient.count;
import static dev.strata.cli.local.ClusterClient.waitFor;
import static dev.strata.cli.local.ClusterClient.writeWalAndAwaitRemoval;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.compute.node.ComputeState;
import dev.strata.compute.node.StartedCompute;
import dev.strata.proxy.wake.EndpointState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local cluster end to end, in one JVM: real safekeepers, pageserver, proxy and a
 * PostgreSQL 17 compute on loopback, clients connecting through the proxy. Every commit
 * acknowledged to a client must survive a compute that is killed (kill -9) and replaced from
 * the pageserver, a suspend and wake, and a full stop and start of the cluster.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class LocalClusterTest {

    @TempDir
    Path tmp;

    private static LocalCluster start(Path dir, Duration idleTimeout) {
        return LocalCluster.start(new ClusterLayout(dir), new LocalCluster.Options(0, false, idleTimeout), s -> { });
    }

    @Test
    void firstUpCreatesTheProjectAndTheNextUpFindsTheDataAsLeft() throws Exception {
        Path dir = tmp.resolve("cluster");
        try (LocalCluster c = start(dir, Duration.ofSeconds(300))) {
            try (Connection conn = connect(c); Statement s = conn.createStatement()) {
                s.execute("CREATE TABLE kept (id int PRIMARY KEY, v text)");
                s.execute("INSERT INTO kept SELECT g, repeat('x', 100) FROM generate_series(1, 5000) g");
            }
            assertThat(c.statusReport()).contains("sk-1").contains("commit")
                    .contains("compute (endpoint main): running").contains("endpoint main (proxy")
                    .contains("pageserver: S3: remote-consistent").contains("(generation 1)");
        }
        try (LocalCluster c = start(dir, Duration.ofSeconds(300)); Connection conn = connect(c)) {
            // Each up is a new attach generation; the history the first run uploaded is in s3/.
            assertThat(c.statusReport()).contains("(generation 2)");
            assertThat(Files.list(dir.resolve("s3").resolve("strata").resolve("pageserver").resolve("v1")
                    .resolve("timelines")).count()).isEqualTo(1);
            assertThat(count(conn, "SELECT count(*) FROM kept")).isEqualTo(5000);
            assertThat(ClusterClient.heapCorruption(conn, "kept")).as("amcheck heap corruption").isEmpty();
            ClusterClient.checkIndex(conn, "kept_pkey");
        }
    }

    @Test
    void aKilledComputeIsReplacedAndEveryAcknowledgedCommitIsThere() throws Exception {
        try (LocalCluster c = start(tmp.resolve("cluster"), Duration.ofSeconds(300))) {
            StartedCompute first = c.compute().started();
            ClusterClient.Writers writers = new ClusterClient.Writers(c, 4);
            for (int round = 0; round < 2; round++) {
                writers.progress(300, Duration.ofSeconds(60), "before kill -9 of the compute");
                StartedCompute before = c.compute().started();
                c.compute().kill();
                waitFor(() -> c.compute().state() == ComputeState.RUNNING && c.compute().started() != null
                        && c.compute().started().term().isAfter(before.term()), Duration.ofSeconds(90),
                        "a new compute after kill -9");
            }
            writers.progress(300, Duration.ofSeconds(60), "on the new compute");
            assertThat(writers.stopAndFindLost(c)).as("acknowledged commits lost after kill -9 of the compute").isEmpty();
            assertThat(c.compute().started().term().value()).isGreaterThan(first.term().value());
        }
    }

    @Test
    void anIdleEndpointIsSuspendedAndTheNextConnectionWakesIt() throws Exception {
        try (LocalCluster c = start(tmp.resolve("cluster"), Duration.ofSeconds(2))) {
            try (Connection conn = connect(c); Statement s = conn.createStatement()) {
                s.execute("CREATE TABLE t (v int)");
                s.execute("INSERT INTO t VALUES (42)");
            }
            StartedCompute before = c.compute().started();
            waitFor(() -> c.compute().state() == ComputeState.STOPPED, Duration.ofSeconds(30), "idle suspend");
            waitFor(() -> c.proxy().status().stream().allMatch(e -> e.state() == EndpointState.SUSPENDED),
                    Duration.ofSeconds(10), "the proxy to see the endpoint suspended");
            assertThat(c.statusReport()).contains("suspended").contains("compute (endpoint main): stopped");
            // Suspended means suspended: the supervisor does not restart it.
            Thread.sleep(1500);
            assertThat(c.compute().state()).isEqualTo(ComputeState.STOPPED);

            try (Connection conn = connect(c); Statement s = conn.createStatement()) {
                s.execute("BEGIN");
                s.execute("INSERT INTO t VALUES (43)");
                s.execute("COMMIT");
                assertThat(count(conn, "SELECT sum(v) FROM t")).isEqualTo(85);
            }
            StartedCompute woken = c.compute().started();
            assertThat(woken.term()).isNotEqualTo(before.term());
            // Nothing was written while it slept: the directory of its clean shutdown was reused.
            assertThat(woken.basebackupBytes()).isZero();
        }
    }

    @Test
    void aComputeWithClientsOfItsOwnIsNotSuspendedUntilTheyLeave() throws Exception {
        try (LocalCluster c = start(tmp.resolve("cluster"), Duration.ofSeconds(2))) {
            try (Connection conn = connect(c); Statement s = conn.createStatement()) {
                s.execute("CREATE TABLE t (v int)");
            }
            // A session that did not come through the proxy: the proxy sees the endpoint idle.
            try (Connection direct = ClusterClient.connect(c.compute().connectionUri("postgres"));
                 Statement s = direct.createStatement()) {
                s.execute("INSERT INTO t VALUES (1)");
                waitFor(() -> c.proxy().status().stream().allMatch(e -> e.state() == EndpointState.SUSPENDED),
                        Duration.ofSeconds(30), "the proxy to find the endpoint idle");
                Thread.sleep(3000); // longer than the idle timeout: the supervisor has looked again
                assertThat(c.compute().state()).as("a compute whose own client is connected").isEqualTo(ComputeState.RUNNING);
                s.execute("INSERT INTO t VALUES (2)");
            }
            waitFor(() -> c.compute().state() == ComputeState.STOPPED, Duration.ofSeconds(30),
                    "suspend once the compute's own client left and it stayed idle");
            try (Connection conn = connect(c)) {
                assertThat(count(conn, "SELECT sum(v) FROM t")).isEqualTo(3);
            }
        }
    }

    @Test
    void aDirectoryIsNotReusedOnceTheTimelineMoved() throws Exception {
        try (LocalCluster c = start(tmp.resolve("cluster"), Duration.ofSeconds(300))) {
            try (Connection conn = connect(c); Statement s = conn.createStatement()) {
                s.execute("CREATE TABLE t (v int)");
                s.execute("INSERT INTO t VALUES (1)");
            }
            c.stopCompute();
            // Another compute writes to the timeline (and is killed: no clean shutdown) ...
            c.startCompute();
            try (Connection conn = connect(c); Statement s = conn.createStatement()) {
                s.execute("INSERT INTO t VALUES (2)");
            }
            StartedCompute second = c.compute().started();
            assertThat(second.basebackupBytes()).as("reused after a clean stop").isZero();
            c.compute().kill();
            waitFor(() -> c.compute().state() == ComputeState.RUNNING && c.compute().started() != null
                    && c.compute().started().term().isAfter(second.term()), Duration.ofSeconds(90), "a new compute");
            // ... so the next start takes a basebackup and sees both rows.
            assertThat(c.compute().started().basebackupBytes()).isPositive();
            try (Connection conn = connect(c)) {
                assertThat(count(conn, "SELECT sum(v) FROM t")).isEqualTo(3);
            }
            // A compute started from a basebackup leaves a reusable directory too.
            c.stopCompute();
            assertThat(c.startCompute().basebackupBytes()).as("reused after a basebackup start").isZero();
        }
    }

    /**
     * Safekeepers remove WAL once the pageserver has it in layer files and every safekeeper has
     * it; a compute replaced afterwards, and the cluster restarted, still find every row.
     */
    @Test
    void walThatThePageserverAndEverySafekeeperHoldIsRemoved() throws Exception {
        Path dir = tmp.resolve("cluster");
        long rows;
        try (LocalCluster c = start(dir, Duration.ofSeconds(300))) {
            writeWalAndAwaitRemoval(c, 3, Duration.ofSeconds(120));
            try (Connection conn = connect(c)) {
                rows = count(conn, "SELECT count(*) FROM ballast");
            }
            StartedCompute old = c.compute().started();
            c.compute().kill();
            waitFor(() -> c.compute().state() == ComputeState.RUNNING && c.compute().started() != null
                    && c.compute().started().term().isAfter(old.term()), Duration.ofSeconds(90), "a new compute");
            try (Connection conn = connect(c)) {
                assertThat(count(conn, "SELECT count(*) FROM ballast")).isEqualTo(rows);
            }
        }
        // Restarted, each safekeeper finds where its WAL now begins and the end of it.
        try (LocalCluster c = start(dir, Duration.ofSeconds(300)); Connection conn = connect(c)) {
            assertThat(count(conn, "SELECT count(*) FROM ballast")).isEqualTo(rows);
            try (Statement s = conn.createStatement()) {
                s.execute("INSERT INTO ballast VALUES (0, 'after the restart')");
            }
            assertThat(count(conn, "SELECT count(*) FROM ballast")).isEqualTo(rows + 1);
        }
    }
}
