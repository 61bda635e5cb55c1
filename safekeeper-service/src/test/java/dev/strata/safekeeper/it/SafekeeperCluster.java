package dev.strata.safekeeper.it;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.net.LoopbackPorts;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.safekeeper.election.Proposer;
import dev.strata.safekeeper.receive.ComputeAddress;
import dev.strata.safekeeper.testing.TestSafekeepers;
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

/**
 * Three safekeeper processes on loopback plus helpers to attach a real PostgreSQL 17 compute:
 * create the timeline, run an election, and point the safekeepers at the compute.
 */
final class SafekeeperCluster implements AutoCloseable {

    static final int SEGMENT_SIZE = 16 << 20;
    final String password = UUID.randomUUID().toString();
    final List<SafekeeperProcess> nodes = new ArrayList<>();

    static SafekeeperCluster start(Path root, int n) throws Exception {
        SafekeeperCluster c = new SafekeeperCluster();
        Map<NodeId, Integer> http = new HashMap<>();
        Map<NodeId, Integer> wal = new HashMap<>();
        for (int i = 1; i <= n; i++) {
            NodeId id = NodeId.of("sk-" + i);
            http.put(id, freePort());
            wal.put(id, freePort());
        }
        for (int i = 1; i <= n; i++) {
            NodeId id = NodeId.of("sk-" + i);
            Map<NodeId, URI> peers = new HashMap<>();
            http.forEach((peer, port) -> {
                if (!peer.equals(id)) {
                    peers.put(peer, URI.create("http://127.0.0.1:" + port));
                }
            });
            c.nodes.add(new SafekeeperProcess(id, root.resolve(id.value()), http.get(id), wal.get(id), peers, c.password));
        }
        try {
            List<Thread> starting = new ArrayList<>();
            List<Exception> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
            for (SafekeeperProcess p : c.nodes) {
                starting.add(Thread.ofPlatform().start(() -> {
                    try {
                        p.start();
                    } catch (Exception e) {
                        errors.add(e);
                    }
                }));
            }
            for (Thread t : starting) {
                t.join();
            }
            if (!errors.isEmpty()) {
                throw errors.getFirst();
            }
        } catch (Exception e) {
            c.close();
            throw e;
        }
        return c;
    }

    SafekeeperProcess node(int i) {
        return nodes.get(i - 1);
    }

    List<Proposer.Member> members() {
        return nodes.stream().map(p -> new Proposer.Member(p.id, p.url())).toList();
    }

    Proposer proposer(TimelineId tl) {
        return TestSafekeepers.proposer(tl, members(), Duration.ofSeconds(60));
    }

    /** Settings for a compute whose commits wait for a quorum of these safekeepers. */
    Map<String, String> computeSettings() {
        StringBuilder names = new StringBuilder();
        for (SafekeeperProcess p : nodes) {
            names.append(names.isEmpty() ? "" : ", ").append('"').append(p.id).append('"');
        }
        return Map.of(
                "wal_level", "replica",
                "max_wal_senders", "10",
                "synchronous_commit", "on",
                "synchronous_standby_names", "ANY " + (nodes.size() / 2 + 1) + " (" + names + ")",
                "fsync", "off",
                "wal_keep_size", "2GB",
                "max_prepared_transactions", "10");
    }

    /** Creates the compute's timeline on every safekeeper, starting at the segment holding {@code from}. */
    TimelineId createTimeline(PostgresServer compute, Lsn from) throws Exception {
        TimelineId tl = TimelineId.random();
        long systemId = systemId(compute);
        for (SafekeeperProcess p : nodes) {
            TestSafekeepers.client(p.url()).createTimeline(tl, systemId, SEGMENT_SIZE, from.segmentStart(SEGMENT_SIZE));
        }
        return tl;
    }

    static ComputeAddress address(Proposer.Result elected, PostgresServer compute) {
        return new ComputeAddress(elected.term(), compute.host(), compute.port(), compute.user(), compute.password());
    }

    static long systemId(PostgresServer pg) throws Exception {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT system_identifier FROM pg_control_system()")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static Lsn currentLsn(PostgresServer pg) throws Exception {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"));
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT pg_current_wal_insert_lsn()")) {
            rs.next();
            return Lsn.parse(rs.getString(1));
        }
    }

    static int freePort() {
        return LoopbackPorts.pickTcpAndUdp(); // the child JVM binds it seconds later
    }

    @Override
    public void close() throws Exception {
        for (SafekeeperProcess p : nodes) {
            p.close();
        }
    }
}
