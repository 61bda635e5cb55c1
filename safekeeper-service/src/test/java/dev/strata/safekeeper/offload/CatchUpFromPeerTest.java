package dev.strata.safekeeper.offload;

import static dev.strata.safekeeper.offload.OffloadCluster.SEGMENT;
import static dev.strata.safekeeper.offload.OffloadCluster.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.safekeeper.election.Proposer;
import dev.strata.safekeeper.receive.ComputeAddress;
import dev.strata.safekeeper.testing.TestSafekeepers;
import dev.strata.safekeeper.timeline.Timeline;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * A safekeeper that lost its directory is brought back into the current term without a new
 * election (what the compute agent's periodic announcement does), while the compute no longer
 * has the WAL it needs: it must catch up with committed WAL from a peer (and S3) and then
 * stream from the compute, so that it counts for the quorum at once. Before this, it stayed in
 * "wal-removed" until the next term, and the loss of one more member stopped every commit
 * (found by cli's SafekeeperDiskLossTest). Real S3-compatible server, real PostgreSQL 17.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CatchUpFromPeerTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @Test
    void aWipedMemberBroughtIntoTheTermCatchesUpFromAPeerAndCarriesTheQuorum(
            @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
        try (OffloadCluster c = OffloadCluster.start(dir)) {
            Proposer.Result elected = c.elect(); // the term the compute streams in from now on
            Lsn written = c.writeWal(3);
            Lsn offloaded = written.segmentStart(SEGMENT);
            await(WAIT, "segments offloaded", () -> !c.timeline(1).offloadedLsn().isBefore(offloaded));

            c.stop(3);
            Lsn whileDown = c.writeWal(2); // sk-1 and sk-2 are the quorum
            c.computeDropsOldWal();
            c.restart(3, true); // its whole directory is gone
            c.nodes[2].node().createTimeline(c.timeline, c.systemId, SEGMENT, c.start);
            Timeline fresh = c.timeline(3);

            await(WAIT, "the new sk-3 learns from its peers what is offloaded",
                    () -> !fresh.offloadedLsn().isBefore(offloaded));
            long fromS3Before = c.nodes[2].node().remoteWal().orElseThrow().bytesDownloaded();
            // Into the current term, as the compute agent's announcement does: vote, adopt, stream.
            Proposer.Member sk3 = new Proposer.Member(c.nodes[2].node().nodeId(), c.nodes[2].url());
            Proposer p = TestSafekeepers.proposer(c.timeline, List.of(sk3), Duration.ofSeconds(30));
            assertThat(p.bringIn(sk3, elected)).isTrue();
            c.nodes[2].node().streamFrom(c.timeline, new ComputeAddress(elected.term(), c.compute.host(),
                    c.compute.port(), c.compute.user(), c.compute.password()));
            await(WAIT, "sk-3 catching up past " + whileDown + " (" + fresh.status() + ")",
                    () -> !fresh.wal().flushLsn().isBefore(whileDown));

            // Now sk-3 is needed for every commit (ANY 2 of 3, sk-1 gone).
            c.stop(1);
            Lsn more = c.writeWal(1);
            await(WAIT, "sk-3 receiving new WAL from the compute", () -> !fresh.wal().flushLsn().isBefore(more));

            assertThat(c.nodes[2].node().remoteWal().orElseThrow().bytesDownloaded() - fromS3Before)
                    .as("WAL below the offloaded LSN came from S3").isGreaterThanOrEqualTo(offloaded.minus(c.start));

            Timeline sk2 = c.timeline(2);
            await(WAIT, "sk-2 flushing " + more, () -> !sk2.wal().flushLsn().isBefore(more));
            assertThat(read(fresh, c.start, more)).as("sk-3's WAL, the part it lost included, equals sk-2's")
                    .isEqualTo(read(sk2, c.start, more));
        }
    }

    private static byte[] read(Timeline t, Lsn from, Lsn to) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Lsn pos = from;
        while (pos.isBefore(to)) {
            byte[] chunk = t.wal().read(pos, (int) Math.min(1 << 20, to.minus(pos)));
            if (chunk.length == 0) {
                throw new AssertionError("no WAL at " + pos + " on " + t.id());
            }
            out.writeBytes(chunk);
            pos = pos.plus(chunk.length);
        }
        return out.toByteArray();
    }
}
