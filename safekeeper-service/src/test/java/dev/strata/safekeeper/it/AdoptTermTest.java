package dev.strata.safekeeper.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.term.Term;
import dev.strata.safekeeper.election.ElectionFailedException;
import dev.strata.safekeeper.election.Proposer;
import dev.strata.safekeeper.election.TermRefusedException;
import dev.strata.safekeeper.testing.TestSafekeepers;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Proposer#adopt}: the control plane elects a term in one place (its Elect step) and a
 * compute agent elsewhere starts Postgres under exactly that term and epoch start. The adopting
 * proposer streams like the electing one; a term that is not the elected one, or has been
 * superseded, is never taken over.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class AdoptTermTest {

    @Test
    void aTermElectedElsewhereIsAdoptedOnlyAsElectedAndOnlyWhileCurrent(
            @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
        try (SafekeeperCluster sks = SafekeeperCluster.start(dir, 3);
             PostgresServer compute = PostgresServer.builder().settings(sks.computeSettings()).start()) {
            TimelineId tl = sks.createTimeline(compute, SafekeeperCluster.currentLsn(compute));
            Proposer.Result elected = sks.proposer(tl).elect();

            Proposer agent = sks.proposer(tl);
            Proposer.Result adopted = agent.adopt(elected.term(), elected.epochStart());
            assertThat(adopted.term()).isEqualTo(elected.term());
            assertThat(adopted.epochStart()).isEqualTo(elected.epochStart());
            assertThat(adopted.voters()).hasSizeGreaterThanOrEqualTo(2);
            assertThat(adopted.history()).isEqualTo(elected.history());

            // The adopting proposer is a full proposer of the term: commits go through its quorum.
            assertThat(agent.streamFrom(SafekeeperCluster.address(adopted, compute))).hasSize(3);
            try (Connection c = DriverManager.getConnection(compute.jdbcUrl("postgres"));
                 Statement s = c.createStatement()) {
                s.execute("CREATE TABLE t (id int)");
                s.execute("INSERT INTO t SELECT generate_series(1, 100)");
                try (ResultSet rs = s.executeQuery("SELECT count(*) FROM t")) {
                    rs.next();
                    assertThat(rs.getInt(1)).isEqualTo(100);
                }
            }

            Proposer quick = TestSafekeepers.proposer(tl, sks.members(), Duration.ofMillis(500));
            assertThatThrownBy(() -> quick.adopt(elected.term(), elected.epochStart().plus(8192)))
                    .as("an epoch start the election did not choose")
                    .isInstanceOf(ElectionFailedException.class)
                    .hasMessageContaining("is not held by a majority");
            assertThatThrownBy(() -> quick.adopt(elected.term().next(), elected.epochStart()))
                    .as("a term nobody elected")
                    .isInstanceOf(ElectionFailedException.class);

            Proposer.Result newer = sks.proposer(tl).elect();
            assertThatThrownBy(() -> quick.adopt(elected.term(), elected.epochStart()))
                    .as("a superseded term")
                    .isInstanceOfSatisfying(TermRefusedException.class,
                            e -> assertThat(e.promisedTerm()).isEqualTo(newer.term()))
                    .hasMessageContaining("has promised term " + newer.term().value());
        }
    }
}
