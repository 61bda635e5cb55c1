package dev.strata.safekeeper.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.fs.CrashSafe;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.testing.lossyfs.LossyFileSystem;
import dev.strata.safekeeper.client.SafekeeperClient;
import dev.strata.safekeeper.election.Proposer;
import dev.strata.safekeeper.http.Dto;
import dev.strata.safekeeper.http.SafekeeperServer;
import dev.strata.safekeeper.node.SafekeeperConfig;
import dev.strata.safekeeper.testing.TestSafekeepers;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * A power cut that loses every write not forced to disk, which kill -9 cannot produce (the page
 * cache survives a killed process). Three safekeepers run in this JVM with their data
 * directories on a {@link LossyFileSystem}; a stock PostgreSQL 17 compute streams to them under
 * a load of pgjdbc clients that count the commits acknowledged to them. Then the power is cut
 * on all three at once and the compute is killed; the safekeepers start again on what survived,
 * a new term is elected, and a stock hot standby streaming from a safekeeper must hold every
 * acknowledged commit. A safekeeper that reported WAL as flushed before forcing it fails this
 * test (checked by hand by removing the forces from {@code SegmentedWalStore.flush}; decision 0012).
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LostUnsyncedWritesTest {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(LostUnsyncedWritesTest.class);
    private static final int SAFEKEEPERS = 3;
    private static final int CLIENTS = 4;
    private static final int SEGMENT_SIZE = 16 << 20;
    private final String password = UUID.randomUUID().toString();

    @Test
    void everyAcknowledgedCommitSurvivesAPowerCutOfAllSafekeepers(@TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir)
            throws Exception {
        Path backing = dir.resolve("disk");
        LossyFileSystem disk = LossyFileSystem.open(backing);
        for (int i = 1; i <= SAFEKEEPERS; i++) {
            Files.createDirectories(disk.getPath("/sk-" + i));
        }
        CrashSafe.fsyncDirectory(disk.getPath("/")); // the data directories exist before the safekeepers start

        List<SafekeeperServer> servers = startSafekeepers(disk);
        Set<Long> acknowledged;
        TimelineId tl;
        Lsn quorumFlushed;
        Path standbyDir = dir.resolve("standby");
        // Closed last: killed at the power cut, it keeps the user the standby logs in as, and its
        // close removes its temporary data directory.
        try (PostgresServer compute = PostgresServer.builder().settings(computeSettings()).start()) {
            AtomicBoolean stop = new AtomicBoolean();
            try {
                try (Connection c = DriverManager.getConnection(compute.jdbcUrl("postgres")); Statement s = c.createStatement()) {
                    s.execute("SET synchronous_commit = local"); // no safekeeper streams yet
                    s.execute("CREATE TABLE acked (id bigint PRIMARY KEY, client int, pad text)");
                }
                Lsn backupStart = Standby.baseBackup(compute, standbyDir);
                tl = TimelineId.random();
                long systemId = SafekeeperCluster.systemId(compute);
                for (SafekeeperServer s : servers) {
                    TestSafekeepers.client(s.url()).createTimeline(tl, systemId, SEGMENT_SIZE, backupStart.segmentStart(SEGMENT_SIZE));
                }
                Proposer proposer = TestSafekeepers.proposer(tl, members(servers), Duration.ofSeconds(60));
                Proposer.Result term1 = proposer.elect();
                proposer.streamFrom(SafekeeperCluster.address(term1, compute));

                Set<Long> acked = ConcurrentHashMap.newKeySet();
                List<Thread> clients = new ArrayList<>();
                for (int k = 0; k < CLIENTS; k++) {
                    int client = k;
                    clients.add(Thread.ofPlatform().name("client-" + k).start(() -> load(compute, client, acked, stop)));
                }
                awaitCount(acked, 1500);

                // Power cut of the safekeepers' machine in the middle of the load, and the compute dies with it.
                // What a majority reported as flushed (the compute's acknowledgements rest on it) must survive.
                quorumFlushed = quorumFlush(servers, tl);
                // ... at a moment when WAL was written but not yet forced, which the cut drops.
                LossyFileSystem.Lost lost = disk.powerCutWhileUnforced(Duration.ofSeconds(30));
                compute.kill();
                log.info("power cut after {} acknowledged commits: lost {}", acked.size(), lost);
                assertThat(lost.pages()).as("unforced pages dropped by the power cut").isPositive();
                stop.set(true);
                for (Thread t : clients) {
                    t.join(Duration.ofSeconds(60));
                }
                acknowledged = new HashSet<>(acked);
            } finally {
                stop.set(true);
                compute.kill();
                servers.forEach(LostUnsyncedWritesTest::closeDead);
            }

            // The machine is back: the safekeepers start on what survived the power cut.
            LossyFileSystem survived = LossyFileSystem.open(backing);
            List<SafekeeperServer> restarted = startSafekeepers(survived);
            try {
                Proposer proposer = TestSafekeepers.proposer(tl, members(restarted), Duration.ofSeconds(60));
                Proposer.Result term2 = proposer.elect();
                assertThat(term2.epochStart().isBefore(quorumFlushed))
                        .as("WAL up to %s was reported flushed by a majority before the power cut; after it the "
                                + "timeline ends at %s", quorumFlushed, term2.epochStart()).isFalse();
                for (Proposer.Member m : members(restarted)) {
                    if (!term2.voters().contains(m.id())) {
                        assertThat(proposer.bringIn(m, term2)).isTrue();
                    }
                }
                SafekeeperServer reader = restarted.getFirst();
                awaitCommit(reader, tl, term2.epochStart());
                try (PostgresServer standby = Standby.start(standbyDir, compute, reader.walsenderPort(), password, tl)) {
                    Standby.awaitReplay(standby, term2.epochStart(), 120_000);
                    Set<Long> present = Standby.ackedIds(standby);
                    Set<Long> missing = new HashSet<>(acknowledged);
                    missing.removeAll(present);
                    assertThat(missing).as("acknowledged commits lost by the power cut (of %d acknowledged)",
                            acknowledged.size()).isEmpty();
                }
            } finally {
                restarted.forEach(SafekeeperServer::close);
            }
        }
    }

    /** Three safekeepers in this JVM on the lossy disk, each on new free ports, peers of each other. */
    private List<SafekeeperServer> startSafekeepers(LossyFileSystem disk) throws Exception {
        Map<NodeId, int[]> ports = new HashMap<>();
        for (int i = 1; i <= SAFEKEEPERS; i++) {
            ports.put(NodeId.of("sk-" + i), new int[] {SafekeeperCluster.freePort(), SafekeeperCluster.freePort()});
        }
        List<SafekeeperServer> out = new ArrayList<>();
        try {
            for (int i = 1; i <= SAFEKEEPERS; i++) {
                NodeId id = NodeId.of("sk-" + i);
                Map<NodeId, URI> peers = new HashMap<>();
                ports.forEach((peer, p) -> {
                    if (!peer.equals(id)) {
                        peers.put(peer, URI.create("http://127.0.0.1:" + p[0]));
                    }
                });
                SafekeeperConfig config = TestSafekeepers.config(id, disk.getPath("/sk-" + i), password)
                        .withPorts(ports.get(id)[1], ports.get(id)[0]).withPeers(peers);
                out.add(SafekeeperServer.start(config));
            }
        } catch (RuntimeException e) {
            out.forEach(SafekeeperServer::close);
            throw e;
        }
        return out;
    }

    /**
     * Stops a safekeeper whose disk lost power: its close fails where it would write (the
     * control file), which is what a dead machine does; that failure is expected here.
     */
    private static void closeDead(SafekeeperServer s) {
        try {
            s.close();
        } catch (RuntimeException e) {
            assertThat(e).hasStackTraceContaining("the power was cut");
        }
    }

    /** The flush LSN a majority of the safekeepers has reached (the second highest of three). */
    private static Lsn quorumFlush(List<SafekeeperServer> servers, TimelineId tl) {
        List<Lsn> flushed = servers.stream()
                .map(s -> s.node().requireTimeline(tl).status().flushLsn())
                .sorted((a, b) -> a.isBefore(b) ? 1 : b.isBefore(a) ? -1 : 0)
                .toList();
        return flushed.get(SAFEKEEPERS / 2);
    }

    private static List<Proposer.Member> members(List<SafekeeperServer> servers) {
        return servers.stream().map(s -> new Proposer.Member(s.node().nodeId(), s.url())).toList();
    }

    private static Map<String, String> computeSettings() {
        return Map.of(
                "wal_level", "replica",
                "max_wal_senders", "10",
                "synchronous_commit", "on",
                "synchronous_standby_names", "ANY 2 (\"sk-1\", \"sk-2\", \"sk-3\")",
                "fsync", "off",
                "wal_keep_size", "2GB",
                "max_prepared_transactions", "10");
    }

    /** Inserts unique ids; an id is recorded only after its commit returned. */
    private static void load(PostgresServer compute, int client, Set<Long> acked, AtomicBoolean stop) {
        long seq = 0;
        while (!stop.get()) {
            try (Connection c = DriverManager.getConnection(compute.jdbcUrl("postgres"));
                 PreparedStatement ps = c.prepareStatement("INSERT INTO acked VALUES (?, ?, repeat('x', 200))")) {
                while (!stop.get()) {
                    long id = client * 10_000_000L + seq++;
                    ps.setLong(1, id);
                    ps.setInt(2, client);
                    ps.executeUpdate();
                    acked.add(id);
                }
            } catch (Exception e) {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private static void awaitCount(Set<Long> acked, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (acked.size() < n && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(acked.size()).as("commits acknowledged while waiting").isGreaterThanOrEqualTo(n);
    }

    private static void awaitCommit(SafekeeperServer sk, TimelineId tl, Lsn lsn) throws InterruptedException {
        SafekeeperClient client = TestSafekeepers.client(sk.url());
        Dto.Status st = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            st = client.status(tl);
            if (!st.commit().isBefore(lsn) && !st.flush().isBefore(lsn)) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError(sk.node().nodeId() + " did not reach commit " + lsn + ": " + st);
    }
}
