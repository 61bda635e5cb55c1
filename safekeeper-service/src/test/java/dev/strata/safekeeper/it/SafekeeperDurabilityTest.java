package dev.strata.safekeeper.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.safekeeper.client.SafekeeperClient;
import dev.strata.safekeeper.election.Proposer;
import dev.strata.safekeeper.http.Dto;
import dev.strata.safekeeper.testing.TestSafekeepers;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of safekeepers under load, then of the compute, then re-election: every commit
 * acknowledged to a client is read back through a stock PG17 standby streaming from a
 * safekeeper that was itself killed and restarted mid-load.
 */
@Timeout(value = 8, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SafekeeperDurabilityTest {

    private static final int CLIENTS = 4;

    @Test
    void noAcknowledgedCommitIsLostWhenSafekeepersAndTheComputeAreKilled(@TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
        try (SafekeeperCluster sks = SafekeeperCluster.start(dir.resolve("sk"), 3);
             PostgresServer compute = PostgresServer.builder().settings(sks.computeSettings()).start()) {
            try (Connection c = DriverManager.getConnection(compute.jdbcUrl("postgres")); Statement s = c.createStatement()) {
                // No safekeeper streams yet: this set-up commit must not wait for a quorum.
                s.execute("SET synchronous_commit = local");
                s.execute("CREATE TABLE acked (id bigint PRIMARY KEY, client int, pad text)");
            }
            Path backup = dir.resolve("standby");
            Lsn backupStart = Standby.baseBackup(compute, backup);
            TimelineId tl = sks.createTimeline(compute, backupStart);
            Proposer proposer = sks.proposer(tl);
            Proposer.Result term1 = proposer.elect();
            proposer.streamFrom(SafekeeperCluster.address(term1, compute));

            Set<Long> acked = ConcurrentHashMap.newKeySet();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong errors = new AtomicLong();
            List<Thread> clients = new java.util.ArrayList<>();
            for (int k = 0; k < CLIENTS; k++) {
                int client = k;
                clients.add(Thread.ofPlatform().start(() -> load(compute, client, acked, stop, errors)));
            }

            awaitCount(acked, 200);
            sks.node(1).kill9();
            int beforeOneDown = acked.size();
            awaitCount(acked, beforeOneDown + 200);   // two of three suffice: commits continue
            sks.node(1).start();
            proposer.streamFrom(SafekeeperCluster.address(term1, compute));
            awaitCount(acked, acked.size() + 200);
            sks.node(3).kill9();
            awaitCount(acked, acked.size() + 200);
            sks.node(3).start();
            proposer.streamFrom(SafekeeperCluster.address(term1, compute));
            awaitCount(acked, acked.size() + 200);

            compute.kill();                           // compute crash in the middle of the load
            stop.set(true);
            for (Thread t : clients) {
                t.join(30_000);
            }
            Set<Long> acknowledged = new HashSet<>(acked);
            assertThat(acknowledged).hasSizeGreaterThan(1000);

            Proposer.Result term2 = proposer.elect();
            assertThat(term2.term()).isEqualTo(term1.term().next());
            for (Proposer.Member m : sks.members()) {
                if (!term2.voters().contains(m.id())) {
                    assertThat(proposer.bringIn(m, term2)).isTrue();
                }
            }
            awaitCommit(sks.node(1), tl, term2.epochStart());

            try (PostgresServer standby = Standby.start(backup, compute, sks.node(1), sks.password, tl)) {
                Standby.awaitReplay(standby, term2.epochStart(), 120_000);
                Set<Long> present = Standby.ackedIds(standby);
                Set<Long> missing = new HashSet<>(acknowledged);
                missing.removeAll(present);
                assertThat(missing).as("acknowledged commits missing after kill -9 and re-election").isEmpty();
            }
        }
    }

    private static void load(PostgresServer compute, int client, Set<Long> acked, AtomicBoolean stop, AtomicLong errors) {
        long seq = 0;
        while (!stop.get()) {
            try (Connection c = DriverManager.getConnection(compute.jdbcUrl("postgres"));
                 PreparedStatement ps = c.prepareStatement("INSERT INTO acked VALUES (?, ?, repeat('x', 200))")) {
                while (!stop.get()) {
                    long id = client * 10_000_000L + seq++;
                    ps.setLong(1, id);
                    ps.setInt(2, client);
                    ps.executeUpdate();
                    acked.add(id);                  // only after the commit returned
                }
            } catch (Exception e) {
                errors.incrementAndGet();
                try {
                    Thread.sleep(50);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    private static void awaitCount(Set<Long> acked, int n) throws InterruptedException {
        for (int i = 0; i < 1200 && acked.size() < n; i++) {
            Thread.sleep(50);
        }
        assertThat(acked.size()).as("commits acknowledged while waiting").isGreaterThanOrEqualTo(n);
    }

    private static void awaitCommit(SafekeeperProcess sk, TimelineId tl, Lsn lsn) throws InterruptedException {
        SafekeeperClient client = TestSafekeepers.client(sk.url());
        Dto.Status st = null;
        for (int i = 0; i < 600; i++) {
            st = client.status(tl);
            if (!st.commit().isBefore(lsn) && !st.flush().isBefore(lsn)) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError(sk.id + " did not reach commit " + lsn + ": " + st);
    }
}
