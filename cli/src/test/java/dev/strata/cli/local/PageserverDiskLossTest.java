package dev.strata.cli.local;

import static dev.strata.cli.local.ClusterClient.waitFor;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.compute.node.ComputeState;
import dev.strata.pgcore.fs.FileTrees;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13's "done when", for the pageserver: under a write load the pageserver is killed with
 * kill -9 and its whole directory deleted; a new one (a new generation) attaches the timeline
 * from the object store by itself, as {@code strata up} does, and catches up from the
 * safekeepers. A fresh compute then reads everything through the attached pageserver: every
 * commit acknowledged to a client is there and amcheck is clean.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class PageserverDiskLossTest {

    private static final Pattern S3 = Pattern.compile("S3: remote-consistent ([0-9A-F]+/[0-9A-F]+) \\(generation (\\d+)\\)");

    @TempDir
    Path tmp;

    @Test
    void aPageserverThatLostItsDiskAttachesFromS3AndNoAcknowledgedCommitIsLost() throws Exception {
        LocalCluster.Options options = new LocalCluster.Options(0, true, Duration.ofSeconds(300)).withSafekeepersInProcess();
        ClusterLayout layout = new ClusterLayout(tmp.resolve("cluster"));
        try (LocalCluster c = LocalCluster.start(layout, options, s -> { })) {
            ClusterClient.Writers writers = new ClusterClient.Writers(c, 2);
            writers.progress(30, Duration.ofSeconds(60), "before the disk loss");
            // The timeline's first index is in S3 (everything after it is WAL the safekeepers keep).
            waitFor(() -> remote(c) != null && !remote(c).group(1).equals("0/0"), Duration.ofSeconds(30),
                    "a remote-consistent LSN");
            long generation = Long.parseLong(remote(c).group(2));

            c.pageserver().kill();
            FileTrees.deleteRecursively(layout.pageserverDir());
            assertThat(Files.exists(layout.pageserverDir())).isFalse();
            int acknowledgedWhileDown = writers.size();

            c.restartPageserver();
            Matcher after = remote(c);
            assertThat(after).as("status after the attach: %s", c.pageserver().status(c.timeline())).isNotNull();
            assertThat(Long.parseLong(after.group(2))).as("a new generation").isEqualTo(generation + 1);
            assertThat(c.pageserver().status(c.timeline()).getFirst()).startsWith("active");

            // A fresh compute: its basebackup and every page it reads come from the attached pageserver.
            c.stopCompute();
            c.startCompute();
            waitFor(() -> c.compute().state() == ComputeState.RUNNING, Duration.ofSeconds(60), "the new compute");
            writers.progress(20, Duration.ofSeconds(60), "after the attach");

            assertThat(writers.stopAndFindLost(c)).as("acknowledged commits lost with the pageserver's disk").isEmpty();
            assertThat(acknowledgedWhileDown).isGreaterThanOrEqualTo(30);
            assertThat(c.statusReport()).contains("generation " + (generation + 1));
        }
    }

    /** The pageserver's S3 status line, parsed; null while it has none. */
    private static Matcher remote(LocalCluster c) {
        List<String> lines = c.pageserver().status(c.timeline());
        for (String line : lines) {
            Matcher m = S3.matcher(line);
            if (m.find()) {
                return m;
            }
        }
        return null;
    }
}
