package dev.strata.safekeeper.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.safekeeper.election.Proposer;
import dev.strata.safekeeper.http.Dto;
import dev.strata.safekeeper.testing.TestSafekeepers;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/** A real PostgreSQL 17 compute whose commits wait for two of three safekeeper processes. */
@Timeout(value = 5, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class QuorumCommitTest {

    @Test
    void commitWaitsUntilTwoSafekeepersFlushed(@TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
        try (SafekeeperCluster sks = SafekeeperCluster.start(dir, 3)) {
            try (PostgresServer compute = PostgresServer.builder().settings(sks.computeSettings()).start()) {
                TimelineId tl = sks.createTimeline(compute, SafekeeperCluster.currentLsn(compute));
                Proposer proposer = sks.proposer(tl);
                Proposer.Result elected = proposer.elect();
                assertThat(elected.term().value()).isEqualTo(1);
                assertThat(proposer.streamFrom(SafekeeperCluster.address(elected, compute))).hasSize(3);

                try (Connection c = DriverManager.getConnection(compute.jdbcUrl("postgres"));
                     Statement s = c.createStatement()) {
                    s.execute("CREATE TABLE t (id int)");
                    s.execute("INSERT INTO t VALUES (1)");
                    assertThat(syncStandbys(s)).isEqualTo(3);

                    sks.node(2).kill9();
                    sks.node(3).kill9();
                    CompletableFuture<Void> commit = CompletableFuture.runAsync(() -> {
                        try (Connection c2 = DriverManager.getConnection(compute.jdbcUrl("postgres"));
                             Statement s2 = c2.createStatement()) {
                            s2.execute("INSERT INTO t VALUES (2)");
                        } catch (Exception e) {
                            throw new RuntimeException(e);
                        }
                    }, runnable -> Thread.ofVirtual().start(runnable));
                    try {
                        commit.get(3, TimeUnit.SECONDS);
                        throw new AssertionError("a commit returned with only one safekeeper up");
                    } catch (TimeoutException expected) {
                        // waiting for the second safekeeper, as it must
                    }

                    sks.node(2).start();
                    proposer.streamFrom(SafekeeperCluster.address(elected, compute));
                    commit.get(60, TimeUnit.SECONDS);

                    Dto.Status st = TestSafekeepers.client(sks.node(2).url()).status(tl);
                    assertThat(st.promisedTerm()).isEqualTo(1);
                    assertThat(st.flush()).isGreaterThanOrEqualTo(SafekeeperCluster.currentLsn(compute).segmentStart(16 << 20));
                }
            }
        }
    }

    private static int syncStandbys(Statement s) throws Exception {
        // Wait (bounded) for every safekeeper to be connected as a quorum standby.
        for (int i = 0; i < 300; i++) {
            try (ResultSet rs = s.executeQuery(
                    "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'quorum' AND state = 'streaming'")) {
                rs.next();
                int n = rs.getInt(1);
                if (n == 3) {
                    return n;
                }
            }
            Thread.sleep(100);
        }
        try (ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_replication")) {
            rs.next();
            return rs.getInt(1);
        }
    }
}
