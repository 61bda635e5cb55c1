package dev.strata.safekeeper.offload;

import dev.strata.pgcore.fs.FileTrees;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.remote.EmbeddedS3;
import dev.strata.remote.RemoteStorage;
import dev.strata.remote.S3RemoteStorage;
import dev.strata.safekeeper.election.Proposer;
import dev.strata.safekeeper.http.SafekeeperServer;
import dev.strata.safekeeper.node.SafekeeperConfig;
import dev.strata.safekeeper.receive.ComputeAddress;
import dev.strata.safekeeper.testing.TestSafekeepers;
import dev.strata.safekeeper.timeline.Timeline;
import java.net.URI;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;

/**
 * Three safekeepers in this JVM offloading to a real S3-compatible server (EmbeddedS3, S3Proxy on
 * loopback), and a real PostgreSQL 17 compute with 1 MiB WAL segments, so that a test fills
 * several segments in a second. Ports: every server binds port 0 and the fixture reads back what
 * it got, a restarted one too (its peers are told the new URL).
 */
final class OffloadCluster implements AutoCloseable {

    static final int SEGMENT = 1 << 20;

    final Path root;
    final EmbeddedS3 s3;
    /** What the safekeepers reach S3 through: {@link OutageRelay#setDown} makes an outage. */
    final OutageRelay s3Relay;
    final String password = UUID.randomUUID().toString();
    final SafekeeperServer[] nodes = new SafekeeperServer[3];
    private final SafekeeperConfig[] configs = new SafekeeperConfig[3];
    PostgresServer compute;
    TimelineId timeline;
    Lsn start;
    long systemId;

    private OffloadCluster(Path root) throws Exception {
        this.root = root;
        this.s3 = EmbeddedS3.start(root.resolve("s3"));
        this.s3Relay = new OutageRelay(s3.endpoint().getPort());
    }

    /** The bucket as the safekeepers reach it: through the relay. */
    private dev.strata.remote.S3Config viaRelay() {
        dev.strata.remote.S3Config direct = s3.config();
        return new dev.strata.remote.S3Config(s3Relay.endpoint(), direct.region(), direct.bucket(), direct.prefix(),
                direct.accessKey(), direct.secretKey(), java.time.Duration.ofSeconds(20));
    }

    /** Starts S3, the safekeepers and the compute, creates the timeline and streams into it. */
    static OffloadCluster start(Path root) throws Exception {
        OffloadCluster c = new OffloadCluster(root);
        // initdb and the server start take seconds: meanwhile the safekeepers start.
        java.util.concurrent.CompletableFuture<PostgresServer> pg = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> PostgresServer.builder().initdbOption("--wal-segsize=1").settings(Map.of(
                        "wal_level", "replica",
                        "max_wal_senders", "10",
                        "synchronous_commit", "on",
                        "synchronous_standby_names", "ANY 2 (\"sk-1\", \"sk-2\", \"sk-3\")",
                        "fsync", "off",
                        "wal_keep_size", "1GB")).start(),
                r -> Thread.ofPlatform().name("compute-start").start(r));
        try {
            for (int i = 0; i < 3; i++) {
                c.configs[i] = TestSafekeepers.config(NodeId.of("sk-" + (i + 1)), root.resolve("sk-" + (i + 1)), c.password)
                        .withRemoteStorage(c.viaRelay());
                c.nodes[i] = SafekeeperServer.start(c.configs[i]);
                c.configs[i] = c.configs[i].withPorts(c.nodes[i].walsenderPort(), c.nodes[i].url().getPort());
            }
            for (int i = 0; i < 3; i++) {
                c.nodes[i].node().setPeers(c.peersOf(i));
            }
            c.compute = pg.get(120, java.util.concurrent.TimeUnit.SECONDS);
            c.systemId = c.queryLong("SELECT system_identifier FROM pg_control_system()");
            c.start = c.currentLsn().segmentStart(SEGMENT);
            c.timeline = TimelineId.random();
            for (SafekeeperServer n : c.nodes) {
                n.node().createTimeline(c.timeline, c.systemId, SEGMENT, c.start);
            }
            c.elect();
        } catch (Exception | Error e) {
            if (c.compute == null) {
                try {
                    c.compute = pg.get(120, java.util.concurrent.TimeUnit.SECONDS); // to stop it
                } catch (Exception ignored) {
                    // it did not start
                }
            }
            c.close();
            throw e;
        }
        return c;
    }

    private Map<NodeId, URI> peersOf(int i) {
        Map<NodeId, URI> peers = new HashMap<>();
        for (int j = 0; j < 3; j++) {
            if (j != i) {
                peers.put(configs[j].nodeId(), URI.create("http://127.0.0.1:" + configs[j].httpPort()));
            }
        }
        return peers;
    }

    /** Runs an election among the live safekeepers and points them at the compute. */
    Proposer.Result elect() {
        List<Proposer.Member> members = new ArrayList<>();
        for (SafekeeperServer n : nodes) {
            if (n != null) {
                members.add(new Proposer.Member(n.node().nodeId(), n.url()));
            }
        }
        Proposer p = TestSafekeepers.proposer(timeline, members, Duration.ofSeconds(30));
        Proposer.Result elected = p.elect();
        p.streamFrom(new ComputeAddress(elected.term(), compute.host(), compute.port(), compute.user(), compute.password()));
        return elected;
    }

    /** Stops safekeeper {@code i} (1-based), as a crash of its process would. */
    void stop(int i) {
        nodes[i - 1].close();
        nodes[i - 1] = null;
    }

    /**
     * Starts safekeeper {@code i} again; with {@code wipe} its whole directory is gone first. It
     * binds new ports (port 0, read back) and every live member is told its new URL, as a
     * replaced task's peers would be: binding the old numbers again could race with any other
     * process that took them meanwhile.
     */
    void restart(int i, boolean wipe) {
        if (nodes[i - 1] != null) {
            stop(i);
        }
        if (wipe) {
            FileTrees.deleteRecursively(configs[i - 1].dataDir());
        }
        SafekeeperServer s = SafekeeperServer.start(configs[i - 1].withPorts(0, 0).withPeers(peersOf(i - 1)));
        nodes[i - 1] = s;
        configs[i - 1] = configs[i - 1].withPorts(s.walsenderPort(), s.url().getPort());
        for (int j = 0; j < 3; j++) {
            if (nodes[j] != null) {
                nodes[j].node().setPeers(peersOf(j));
            }
        }
    }

    Timeline timeline(int i) {
        return nodes[i - 1].node().requireTimeline(timeline);
    }

    /** Writes about {@code mib} MiB of WAL and switches to a new segment; returns the insert LSN after. */
    Lsn writeWal(int mib) throws Exception {
        try (Connection c = DriverManager.getConnection(compute.jdbcUrl("postgres")); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS t (g int, pad text)");
            s.execute("INSERT INTO t SELECT g, repeat('x', 900) FROM generate_series(1, " + (mib * 1000) + ") g");
            s.execute("SELECT pg_switch_wal()");
            s.execute("INSERT INTO t VALUES (0, 'after the switch')"); // commits wait for the quorum
        }
        return currentLsn();
    }

    /**
     * Makes the compute drop the timeline's first segment (as a production compute, which keeps
     * little, has long done), so that a safekeeper lacking it cannot stream it from the compute.
     */
    void computeDropsOldWal() throws Exception {
        String name = start.walFileName(1, SEGMENT); // the first segment of the timeline: the oldest
        try (Connection c = DriverManager.getConnection(compute.jdbcUrl("postgres")); Statement s = c.createStatement()) {
            s.execute("ALTER SYSTEM SET wal_keep_size = 0");
            s.execute("SELECT pg_reload_conf()");
            for (int i = 0; i < 20; i++) {
                s.execute("INSERT INTO t VALUES (-1, 'drop')");
                s.execute("SELECT pg_switch_wal()");
                s.execute("CHECKPOINT");
                try (ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_ls_waldir() WHERE name = '" + name + "'")) {
                    rs.next();
                    if (rs.getLong(1) == 0) {
                        return;
                    }
                }
            }
        }
        throw new AssertionError("the compute still holds " + name + " after 20 checkpoints");
    }

    Lsn currentLsn() throws Exception {
        try (Connection c = DriverManager.getConnection(compute.jdbcUrl("postgres")); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT pg_current_wal_insert_lsn()")) {
            rs.next();
            return Lsn.parse(rs.getString(1));
        }
    }

    private long queryLong(String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(compute.jdbcUrl("postgres")); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** A client of the bucket, for checking what is in it. */
    RemoteStorage bucket() {
        return new S3RemoteStorage(s3.config());
    }

    /** Reports the pageserver's remote-consistent LSN to safekeeper {@code i}, as its walsender would. */
    void reportRemoteConsistent(int i, Lsn lsn) {
        timeline(i).advanceRemoteConsistentLsn(lsn);
    }

    static void await(Duration timeout, String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + timeout + ": " + what);
            }
            Thread.sleep(50);
        }
    }

    @Override
    public void close() throws Exception {
        for (int i = 0; i < 3; i++) {
            if (nodes[i] != null) {
                try {
                    nodes[i].close();
                } catch (RuntimeException e) {
                    // keep closing the rest
                }
            }
        }
        if (compute != null) {
            compute.close();
        }
        s3Relay.close();
        s3.close();
    }
}
