package dev.strata.cli.local;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.compute.node.ComputeState;
import dev.strata.compute.node.StartedCompute;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local cluster end to end: real safekeepers, pageserver and PostgreSQL 17 compute on
 * loopback. Every commit acknowledged to a client must survive a compute that is killed
 * (kill -9) and replaced from the pageserver, and a full stop and start of the cluster.
 */
@Timeout(value = 5, unit = java.util.concurrent.TimeUnit.MINUTES)
class LocalClusterTest {

    @TempDir
    Path tmp;

    private static final LocalCluster.Options TEST_OPTIONS = new LocalCluster.Options(0, false, Duration.ofSeconds(300));

    private LocalCluster start(Path dir) {
        return LocalCluster.start(new ClusterLayout(dir), TEST_OPTIONS, s -> { });
    }

    private static Connection connect(LocalCluster c) throws SQLException {
        String uri = c.connectionString();
        // postgresql://user:pw@host:port/db -> JDBC
        java.net.URI u = java.net.URI.create(uri);
        String[] userInfo = u.getRawUserInfo().split(":", 2);
        java.util.Properties p = new java.util.Properties();
        p.setProperty("user", userInfo[0]);
        p.setProperty("password", java.net.URLDecoder.decode(userInfo[1], java.nio.charset.StandardCharsets.UTF_8));
        p.setProperty("connectTimeout", "60");
        // options=endpoint%3Dmain: the proxy routes by it
        String query = u.getRawQuery();
        if (query != null && query.startsWith("options=")) {
            p.setProperty("options", java.net.URLDecoder.decode(query.substring("options=".length()),
                    java.nio.charset.StandardCharsets.UTF_8));
        }
        p.setProperty("socketTimeout", "30");
        return DriverManager.getConnection("jdbc:postgresql://" + u.getHost() + ":" + u.getPort() + u.getPath(), p);
    }

    private static long count(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void firstUpCreatesTheProjectAndTheNextUpFindsTheDataAsLeft() throws Exception {
        Path dir = tmp.resolve("cluster");
        try (LocalCluster c = start(dir)) {
            try (Connection conn = connect(c); Statement s = conn.createStatement()) {
                s.execute("CREATE TABLE kept (id int PRIMARY KEY, v text)");
                s.execute("INSERT INTO kept SELECT g, repeat('x', 100) FROM generate_series(1, 5000) g");
            }
            assertThat(c.statusReport()).contains("sk-1").contains("commit").contains("compute (endpoint main): running");
        }
        try (LocalCluster c = start(dir); Connection conn = connect(c)) {
            assertThat(count(conn, "SELECT count(*) FROM kept")).isEqualTo(5000);
            try (Statement s = conn.createStatement()) {
                s.execute("CREATE EXTENSION IF NOT EXISTS amcheck");
                s.execute("SELECT bt_index_check('kept_pkey'::regclass, true)");
            }
        }
    }

    @Test
    void aKilledComputeIsReplacedAndEveryAcknowledgedCommitIsThere() throws Exception {
        try (LocalCluster c = start(tmp.resolve("cluster"))) {
            try (Connection conn = connect(c); Statement s = conn.createStatement()) {
                s.execute("CREATE TABLE acked (id bigint PRIMARY KEY, writer int, pad text)");
            }
            Set<Long> acknowledged = ConcurrentHashMap.newKeySet();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong ids = new AtomicLong();
            List<Thread> writers = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                int writer = w;
                writers.add(Thread.ofPlatform().start(() -> {
                    while (!stop.get()) {
                        try (Connection conn = connect(c)) {
                            while (!stop.get()) {
                                long id = ids.incrementAndGet();
                                try (Statement s = conn.createStatement()) {
                                    s.execute("INSERT INTO acked VALUES (" + id + ", " + writer + ", repeat('p', 200))");
                                }
                                acknowledged.add(id); // the commit returned: it must survive
                            }
                        } catch (SQLException e) {
                            sleep(100); // compute gone: reconnect when the new one is up
                        }
                    }
                }));
            }
            StartedCompute first = c.compute().started();
            for (int round = 0; round < 2; round++) {
                long before = acknowledged.size();
                waitFor(() -> acknowledged.size() >= before + 300, Duration.ofSeconds(60), "writes before kill");
                c.compute().kill();
                waitFor(() -> c.compute().state() == ComputeState.RUNNING && c.compute().started() != null
                        && !c.compute().started().term().equals(first.term()), Duration.ofSeconds(90),
                        "a new compute after kill -9");
            }
            long afterKills = acknowledged.size();
            waitFor(() -> acknowledged.size() >= afterKills + 300, Duration.ofSeconds(60), "writes on the new compute");
            stop.set(true);
            for (Thread t : writers) {
                t.join(Duration.ofSeconds(30));
            }
            try (Connection conn = connect(c); Statement s = conn.createStatement();
                 ResultSet rs = s.executeQuery("SELECT id FROM acked")) {
                Set<Long> present = new HashSet<>();
                while (rs.next()) {
                    present.add(rs.getLong(1));
                }
                Set<Long> lost = new HashSet<>(acknowledged);
                lost.removeAll(present);
                assertThat(lost).as("acknowledged commits missing after kill -9 of the compute").isEmpty();
                s.execute("CREATE EXTENSION IF NOT EXISTS amcheck");
                s.execute("SELECT verify_heapam('acked'::regclass)");
                s.execute("SELECT bt_index_check('acked_pkey'::regclass, true)");
            }
            assertThat(c.compute().started().term().value()).isGreaterThan(first.term().value());
        }
    }

    private static void waitFor(java.util.function.BooleanSupplier condition, Duration timeout, String what)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what);
            }
            Thread.sleep(50);
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
