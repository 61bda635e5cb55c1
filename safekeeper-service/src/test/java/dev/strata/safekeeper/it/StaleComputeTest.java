package dev.strata.safekeeper.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.safekeeper.client.SafekeeperApiException;
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

/**
 * Issue 3, stale compute: once a higher term is elected, the compute of the older term, still
 * running, never gets another commit acknowledged, and the safekeepers refuse to stream from it.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class StaleComputeTest {

    @Test
    void oldComputesCommitsNeverReturnOnceAHigherTermIsElected(@TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir)
            throws Exception {
        try (SafekeeperCluster sks = SafekeeperCluster.start(dir, 3);
             PostgresServer compute = PostgresServer.builder().settings(sks.computeSettings()).start()) {
            TimelineId tl = sks.createTimeline(compute, SafekeeperCluster.currentLsn(compute));
            Proposer proposer = sks.proposer(tl);
            Proposer.Result first = proposer.elect();
            assertThat(first.term().value()).isEqualTo(1);
            assertThat(proposer.streamFrom(SafekeeperCluster.address(first, compute))).hasSize(3);

            try (Connection c = DriverManager.getConnection(compute.jdbcUrl("postgres"));
                 Statement s = c.createStatement()) {
                s.execute("CREATE TABLE t (id int)");
                s.execute("INSERT INTO t VALUES (1)"); // acknowledged by a quorum of term 1

                Proposer.Result second = sks.proposer(tl).elect();
                assertThat(second.term().value()).isEqualTo(2);

                CompletableFuture<Void> stale = CompletableFuture.runAsync(() -> {
                    try (Connection c2 = DriverManager.getConnection(compute.jdbcUrl("postgres"));
                         Statement s2 = c2.createStatement()) {
                        s2.execute("INSERT INTO t VALUES (2)");
                    } catch (Exception e) {
                        throw new RuntimeException(e);
                    }
                }, r -> Thread.ofVirtual().start(r));
                try {
                    stale.get(4, TimeUnit.SECONDS);
                    throw new AssertionError("a commit of the term-1 compute returned after term 2 was elected");
                } catch (TimeoutException expected) {
                    // no safekeeper acknowledges the old compute any more
                }

                for (SafekeeperProcess p : sks.nodes) {
                    Dto.Status st = TestSafekeepers.client(p.url()).status(tl);
                    assertThat(st.promisedTerm()).isEqualTo(2);
                    assertThat(st.receiver()).as(p.id + " receiver").doesNotContain("streaming");
                }
                assertThat(streamingSafekeepers(s)).as("safekeepers still replicating from the old compute").isZero();

                // end to end: the acceptors refuse the term-1 compute now that they promised term 2
                for (SafekeeperProcess p : sks.nodes) {
                    assertThatThrownBy(() -> TestSafekeepers.client(p.url()).streamFrom(tl, SafekeeperCluster.address(first, compute)))
                            .isInstanceOfSatisfying(SafekeeperApiException.class, e -> {
                                assertThat(e.status()).isEqualTo(409);
                                assertThat(e.getMessage()).contains("promised term is 2");
                            });
                }
                Thread.sleep(500);
                assertThat(stale).isNotDone();
                assertThat(streamingSafekeepers(s)).isZero();
                // release the waiting backend so the compute can shut down
                s.execute("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE wait_event = 'SyncRep'");
            }
        }
    }

    private static int streamingSafekeepers(Statement s) throws Exception {
        for (int i = 0; i < 50; i++) {
            try (ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_replication WHERE application_name LIKE 'sk-%'")) {
                rs.next();
                if (rs.getInt(1) == 0) {
                    return 0;
                }
            }
            Thread.sleep(100);
        }
        try (ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_replication WHERE application_name LIKE 'sk-%'")) {
            rs.next();
            return rs.getInt(1);
        }
    }
}
