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
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * A safekeeper left alone with a compute collects WAL no quorum acknowledged. After the
 * compute dies and the other two elect a new term without it, that tail diverges from the
 * new term's history: when the safekeeper rejoins, it is truncated to the epoch start.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DivergentTailTest {

    @Test
    void aTailNoQuorumAcknowledgedIsTruncatedWhenItsOwnerRejoins(@TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir)
            throws Exception {
        try (SafekeeperCluster sks = SafekeeperCluster.start(dir, 3);
             PostgresServer compute = PostgresServer.builder().settings(sks.computeSettings()).start()) {
            TimelineId tl = sks.createTimeline(compute, SafekeeperCluster.currentLsn(compute));
            Proposer proposer = sks.proposer(tl);
            Proposer.Result term1 = proposer.elect();
            proposer.streamFrom(SafekeeperCluster.address(term1, compute));
            try (Connection c = DriverManager.getConnection(compute.jdbcUrl("postgres")); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g");   // acknowledged by a quorum
            }

            SafekeeperClient sk3 = TestSafekeepers.client(sks.node(3).url());
            Lsn quorumEnd = Lsn.max(TestSafekeepers.client(sks.node(1).url()).status(tl).flush(),
                    TestSafekeepers.client(sks.node(2).url()).status(tl).flush());
            sks.node(1).kill9();
            sks.node(2).kill9();
            // Only sk-3 streams now: this commit can never be acknowledged, but its WAL reaches sk-3.
            Thread.ofVirtual().start(() -> {
                try (Connection c = DriverManager.getConnection(compute.jdbcUrl("postgres")); Statement s = c.createStatement()) {
                    s.execute("INSERT INTO t SELECT g FROM generate_series(1, 200000) g");
                } catch (Exception expected) {
                    // the compute is killed below
                }
            });
            Lsn lonelyEnd = awaitFlushBeyond(sk3, tl, quorumEnd.plus(2_000_000));
            compute.kill();
            sks.node(3).kill9();

            sks.node(1).start();
            sks.node(2).start();
            Proposer.Result term2 = proposer.elect();
            assertThat(term2.voters()).doesNotContain(sks.node(3).id);
            assertThat(term2.epochStart()).isLessThan(lonelyEnd);

            sks.node(3).start();
            assertThat(proposer.bringIn(sks.members().get(2), term2)).isTrue();
            Dto.Status st = sk3.status(tl);
            assertThat(st.flush()).as("sk-3's unacknowledged tail is gone").isEqualTo(term2.epochStart());
            assertThat(st.lastLogTerm()).isEqualTo(term2.term().value());
            assertThat(st.history().entries().getLast().lsn()).isEqualTo(term2.epochStart());

            // The truncation is durable: after another kill -9 sk-3 still ends at the epoch start.
            sks.node(3).kill9();
            sks.node(3).start();
            assertThat(sk3.status(tl).flush()).isEqualTo(term2.epochStart());
        }
    }

    private static Lsn awaitFlushBeyond(SafekeeperClient sk, TimelineId tl, Lsn lsn) throws InterruptedException {
        Lsn flush = Lsn.INVALID;
        for (int i = 0; i < 600; i++) {
            flush = sk.status(tl).flush();
            if (flush.isAfter(lsn)) {
                return flush;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the lone safekeeper reached only " + flush + ", not beyond " + lsn);
    }
}
