package dev.strata.cli.local;

import static dev.strata.cli.local.ClusterClient.waitFor;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.compute.node.ComputeState;
import dev.strata.compute.node.StartedCompute;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Durability of the whole system under crashes: the safekeepers and the pageserver run as
 * their own processes and are killed with kill -9 in the middle of a write load, one at a
 * time, while safekeepers remove the WAL the pageserver has flushed. Every commit acknowledged to a client must be there afterwards, read through a
 * compute started from the pageserver (so the pageserver's copy is checked too), with amcheck
 * clean.
 */
@Timeout(value = 8, unit = TimeUnit.MINUTES)
class ClusterDurabilityTest {

    @TempDir
    Path tmp;

    @Test
    void killingThePageserverAndEachSafekeeperUnderLoadLosesNoAcknowledgedCommit() throws Exception {
        LocalCluster.Options options = new LocalCluster.Options(0, true, Duration.ofSeconds(300));
        try (LocalCluster c = LocalCluster.start(new ClusterLayout(tmp.resolve("cluster")), options, s -> { })) {
            ClusterClient.Writers writers = new ClusterClient.Writers(c, 4);
            writers.progress(300, Duration.ofSeconds(60), "before any kill");
            // The kills below happen with WAL removal at work, not before its first round.
            ClusterClient.writeWalAndAwaitRemoval(c, 2, Duration.ofSeconds(120));

            // The pageserver is not on the commit path: writes go on while it is down.
            c.pageserver().kill();
            writers.progress(200, Duration.ofSeconds(60), "while the pageserver is down");
            c.pageserver().restart();
            writers.progress(200, Duration.ofSeconds(60), "after the pageserver restarted");
            // The restarted pageserver reports what it holds again, and removal goes on.
            ClusterClient.writeWalAndAwaitRemoval(c, 2, Duration.ofSeconds(120));

            // One safekeeper at a time: two of three still make a quorum.
            for (LocalSafekeeper sk : c.safekeepers()) {
                sk.kill();
                writers.progress(200, Duration.ofSeconds(60), "while " + sk.id() + " is down");
                sk.restart();
                writers.progress(200, Duration.ofSeconds(60), "after " + sk.id() + " restarted");
            }

            // A new compute from the restarted pageserver: it must hold every acknowledged commit.
            StartedCompute before = c.compute().started();
            c.compute().kill();
            waitFor(() -> c.compute().state() == ComputeState.RUNNING && c.compute().started() != null
                    && c.compute().started().term().isAfter(before.term()), Duration.ofSeconds(120),
                    "a new compute from the restarted pageserver");
            writers.progress(200, Duration.ofSeconds(60), "on the new compute");
            assertThat(writers.stopAndFindLost(c)).as("acknowledged commits lost").isEmpty();
            assertThat(writers.size()).isGreaterThan(1500);
            assertThat(c.statusReport()).doesNotContain("down (process exited)");
        }
    }
}
