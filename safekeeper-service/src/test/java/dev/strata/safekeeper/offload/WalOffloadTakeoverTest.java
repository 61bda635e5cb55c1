package dev.strata.safekeeper.offload;

import static dev.strata.safekeeper.offload.OffloadCluster.SEGMENT;
import static dev.strata.safekeeper.offload.OffloadCluster.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.remote.RemoteStorage;
import dev.strata.safekeeper.election.Proposer;
import dev.strata.safekeeper.timeline.Timeline;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * The uploader is one member and another takes over when it dies; a safekeeper that lost its
 * whole directory gets old WAL back from object storage (its peers removed it) and the rest
 * from a donor. Real S3-compatible server, real PostgreSQL 17.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class WalOffloadTakeoverTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @Test
    void anotherMemberTakesOverWhenTheUploaderDiesAndResumesWhereItStopped(
            @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
        try (OffloadCluster c = OffloadCluster.start(dir)) {
            Lsn first = c.writeWal(2).segmentStart(SEGMENT);
            await(WAIT, "sk-2 learns the first segments are offloaded", () -> !c.timeline(2).offloadedLsn().isBefore(first));
            WalOffloader sk2 = c.nodes[1].node().offloader(c.timeline).orElseThrow();
            assertThat(sk2.segmentsUploaded()).as("sk-2 does not upload while sk-1 lives").isZero();

            c.stop(1); // the uploader dies
            Lsn second = c.writeWal(3).segmentStart(SEGMENT); // sk-2 and sk-3 are still a quorum
            await(WAIT, "sk-2 takes over and offloads up to " + second, () -> !c.timeline(2).offloadedLsn().isBefore(second));
            await(WAIT, "sk-3 learns it", () -> !c.timeline(3).offloadedLsn().isBefore(second));
            long taken = sk2.segmentsUploaded();
            assertThat(taken).as("sk-2 resumed after what sk-1 had uploaded")
                    .isEqualTo(second.segmentNumber(SEGMENT) - first.segmentNumber(SEGMENT));
            assertThat(c.nodes[2].node().offloader(c.timeline).orElseThrow().segmentsUploaded()).isZero();
            try (RemoteStorage bucket = c.bucket()) {
                List<RemoteStorage.RemoteObject> objects = bucket.list(WalObjectKeys.timelinePrefix(c.timeline));
                assertThat(objects).hasSize((int) (second.segmentNumber(SEGMENT) - c.start.segmentNumber(SEGMENT)));
                for (RemoteStorage.RemoteObject o : objects) {
                    WalObjectKeys.SegmentObject s = WalObjectKeys.parse(o.key());
                    assertThat(bucket.get(o.key())).as(o.key())
                            .isEqualTo(Files.readAllBytes(c.timeline(3).wal().directory().resolve(s.segmentName())));
                }
            }
            // The offloaded LSN is in the control file: a restart resumes there.
            c.restart(2, false);
            assertThat(c.timeline(2).offloadedLsn()).isGreaterThanOrEqualTo(second);
        }
    }

    @Test
    void aSafekeeperWhoseDirectoryIsDeletedRecoversOldWalFromObjectStorageAndTheRestFromADonor(
            @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
        try (OffloadCluster c = OffloadCluster.start(dir)) {
            Lsn written = c.writeWal(4);
            Lsn offloaded = written.segmentStart(SEGMENT);
            await(WAIT, "segments offloaded", () -> !c.timeline(3).offloadedLsn().isBefore(offloaded));
            c.reportRemoteConsistent(1, written);
            for (int i = 1; i <= 3; i++) {
                Timeline t = c.timeline(i);
                await(WAIT, "sk-" + i + " removes the offloaded segments", () -> !t.wal().retainedStart().isBefore(offloaded));
            }

            c.stop(3);
            c.computeDropsOldWal(); // else the new sk-3 would simply stream it from the compute
            c.restart(3, true); // its whole directory is gone
            c.nodes[2].node().createTimeline(c.timeline, c.systemId, SEGMENT, c.start);
            Timeline fresh = c.timeline(3);
            await(WAIT, "the new sk-3 learns from its peers what is offloaded",
                    () -> !fresh.offloadedLsn().isBefore(offloaded));
            Proposer.Result elected = c.elect();
            Lsn epochStart = elected.epochStart();
            assertThat(epochStart).isGreaterThan(offloaded);
            await(WAIT, "sk-3 recovers up to the epoch start " + epochStart,
                    () -> !fresh.wal().flushLsn().isBefore(epochStart));

            RemoteWal remote = c.nodes[2].node().remoteWal().orElseThrow();
            assertThat(remote.bytesDownloaded()).as("old WAL came from object storage")
                    .isGreaterThanOrEqualTo(offloaded.minus(c.start));
            // What it recovered passed the same record checks as WAL from a compute (PeerRecovery), and
            // above the offloaded LSN, which nobody removed yet, it holds exactly the donor's bytes.
            byte[] mine = fresh.wal().read(offloaded, (int) epochStart.minus(offloaded));
            byte[] donor = c.timeline(1).wal().read(offloaded, (int) epochStart.minus(offloaded));
            assertThat(mine).isEqualTo(donor);

            // And it takes part again: new commits reach it.
            Lsn more = c.writeWal(1);
            await(WAIT, "sk-3 receives new WAL", () -> !fresh.wal().flushLsn().isBefore(more));
        }
    }
}
