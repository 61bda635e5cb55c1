package dev.strata.cli.local;

import static dev.strata.cli.local.ClusterClient.waitFor;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.compute.node.ComputeState;
import dev.strata.compute.node.StartedCompute;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole cluster crashes at once: all three safekeepers, the pageserver and the compute are
 * killed with kill -9 at the same moment in the middle of a write load (a machine losing every
 * process, not one component at a time). Nothing survives but the disks: the safekeepers and the
 * pageserver start again on their data directories, a new compute is elected and started from
 * them, and every commit acknowledged to a client before the crash is read back through it,
 * with amcheck clean.
 *
 * <p>kill -9 keeps the kernel's page cache, so this test cannot see an acknowledgement sent
 * before an fsync; {@code LostUnsyncedWritesTest} in safekeeper-service covers that (decision 0012).
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ClusterCrashTest {

    @TempDir
    Path tmp;

    @Test
    void killingEveryProcessAtOnceUnderLoadLosesNoAcknowledgedCommit() throws Exception {
        LocalCluster.Options options = new LocalCluster.Options(0, true, Duration.ofSeconds(300));
        try (LocalCluster c = LocalCluster.start(new ClusterLayout(tmp.resolve("cluster")), options, s -> { })) {
            ClusterClient.Writers writers = new ClusterClient.Writers(c, 4);
            writers.progress(500, Duration.ofSeconds(60), "before the crash");
            StartedCompute before = c.compute().started();

            killAtOnce(c);
            int acknowledgedBeforeCrash = writers.size();
            assertThat(c.safekeepers()).noneMatch(LocalSafekeeper::isAlive);
            assertThat(c.pageserver().isAlive()).isFalse();

            // Restart from the disks alone: the safekeepers' WAL and control files, the pageserver's layers.
            for (LocalSafekeeper sk : c.safekeepers()) {
                sk.restart();
            }
            c.pageserver().restart();
            waitFor(() -> c.compute().state() == ComputeState.RUNNING && c.compute().started() != null
                    && c.compute().started().term().isAfter(before.term()), Duration.ofSeconds(120),
                    "a new compute after every process was killed");
            writers.progress(200, Duration.ofSeconds(60), "after the restart");

            assertThat(writers.stopAndFindLost(c)).as("acknowledged commits lost after killing every process").isEmpty();
            assertThat(acknowledgedBeforeCrash).isGreaterThanOrEqualTo(500);
            assertThat(c.statusReport()).doesNotContain("down (process exited)");
            // child safekeepers show their (new) pids, which bench/throttled-copy.sh pauses
            for (LocalSafekeeper sk : c.safekeepers()) {
                assertThat(c.statusReport()).contains("safekeeper " + String.format("%-5s", sk.id()))
                        .contains(" pid " + sk.pid().orElseThrow() + ": ");
            }
        }
    }

    /** SIGKILL to every process of the cluster from parallel threads, so that none outlives the others. */
    private static void killAtOnce(LocalCluster c) throws InterruptedException {
        List<Runnable> kills = new ArrayList<>();
        for (LocalSafekeeper sk : c.safekeepers()) {
            kills.add(sk::kill);
        }
        kills.add(c.pageserver()::kill);
        kills.add(c.compute()::kill);
        List<Thread> threads = new ArrayList<>();
        for (Runnable k : kills) {
            threads.add(Thread.ofPlatform().unstarted(k));
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            t.join(Duration.ofSeconds(60));
        }
    }
}
