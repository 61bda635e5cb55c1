package dev.strata.safekeeper.offload;

import static dev.strata.safekeeper.offload.OffloadCluster.SEGMENT;
import static dev.strata.safekeeper.offload.OffloadCluster.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.replication.IdentifySystem;
import dev.strata.pgcore.replication.ReplicationClient;
import dev.strata.remote.Checksums;
import dev.strata.remote.RemoteStorage;
import dev.strata.safekeeper.testing.TestSafekeepers;
import dev.strata.safekeeper.timeline.Timeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * WAL offload with a real S3-compatible server and a real PostgreSQL 17 compute: complete
 * segments go to object storage, checksummed, from one uploader; a segment leaves a disk only
 * once it is offloaded and the pageserver has it; readers are served from object storage what
 * is no longer on disk; an outage of S3 (every connection to it closed, by {@link OutageRelay}) keeps
 * the WAL on disk and the uploads catch up after.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class WalOffloadTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @Test
    void segmentsAreOffloadedChecksummedAndRemovedOnlyOnceOffloadedThenServedFromObjectStorage(
            @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
        try (OffloadCluster c = OffloadCluster.start(dir); RemoteStorage bucket = c.bucket()) {
            Lsn written = c.writeWal(5);
            Lsn uploadable = written.segmentStart(SEGMENT);
            for (int i = 1; i <= 3; i++) {
                Timeline t = c.timeline(i);
                await(WAIT, "sk-" + i + " learns that WAL up to " + uploadable + " is offloaded",
                        () -> !t.offloadedLsn().isBefore(uploadable));
            }
            // One uploader: the lowest live id.
            assertThat(c.nodes[0].node().offloader(c.timeline).orElseThrow().segmentsUploaded()).isGreaterThanOrEqualTo(5);
            assertThat(c.nodes[1].node().offloader(c.timeline).orElseThrow().segmentsUploaded()).isZero();
            assertThat(c.nodes[2].node().offloader(c.timeline).orElseThrow().segmentsUploaded()).isZero();

            // Every object is one whole segment whose checksum is in its key, equal to the segment on disk.
            Lsn offloaded = c.timeline(1).offloadedLsn();
            List<RemoteStorage.RemoteObject> objects = bucket.list(WalObjectKeys.timelinePrefix(c.timeline));
            assertThat(objects).hasSize((int) (offloaded.segmentNumber(SEGMENT) - c.start.segmentNumber(SEGMENT)));
            for (RemoteStorage.RemoteObject o : objects) {
                WalObjectKeys.SegmentObject parsed = WalObjectKeys.parse(o.key());
                byte[] remote = bucket.get(o.key());
                assertThat(Checksums.crc32c(remote)).as(o.key()).isEqualTo(parsed.crc32c());
                assertThat(remote).as(o.key()).isEqualTo(
                        Files.readAllBytes(c.timeline(2).wal().directory().resolve(parsed.segmentName())));
            }

            // Nothing is removed while the pageserver has reported nothing.
            for (int i = 1; i <= 3; i++) {
                assertThat(c.timeline(i).status().walRetainedFromLsn()).isEqualTo(c.start);
            }
            // The pageserver reports everything (capped at each node's flush): the offloaded LSN bounds removal.
            Lsn commit = c.timeline(1).status().commitLsn();
            c.reportRemoteConsistent(2, commit);
            for (int i = 1; i <= 3; i++) {
                Timeline t = c.timeline(i);
                await(WAIT, "sk-" + i + " removes the offloaded segments", () -> t.wal().retainedStart().equals(offloaded)
                        || t.wal().retainedStart().isAfter(offloaded));
                assertThat(t.wal().retainedStart()).as("sk-%d never removes WAL not offloaded", i)
                        .isLessThanOrEqualTo(t.offloadedLsn());
            }

            // GET /wal from a donor serves the removed WAL from object storage.
            Lsn from = c.start.plus(SEGMENT / 2 + 24);
            byte[] expected = Arrays.copyOfRange(segmentFromBucket(bucket, c, c.start), SEGMENT / 2 + 24, SEGMENT);
            try (InputStream in = TestSafekeepers.client(c.nodes[1].url()).readWal(c.timeline, from, c.start.plus(SEGMENT))) {
                assertThat(in.readAllBytes()).isEqualTo(expected);
            }

            // The walsender streams it too, from the timeline start, into what is still on disk.
            Lsn until = c.timeline(3).servableEnd();
            assertThat(until).isGreaterThan(offloaded);
            byte[] streamed = stream(c, 3, c.start, until);
            byte[] first = segmentFromBucket(bucket, c, c.start);
            assertThat(Arrays.copyOf(streamed, SEGMENT)).isEqualTo(first);
            byte[] tail = c.timeline(3).readWal(offloaded, (int) until.minus(offloaded));
            assertThat(Arrays.copyOfRange(streamed, (int) offloaded.minus(c.start), (int) until.minus(c.start)))
                    .isEqualTo(tail);

            // Deleting the timeline deletes its WAL in object storage too (the uploader last, so
            // nothing is uploaded after the objects are gone); a member finding them gone already
            // deletes nothing and fails nothing.
            c.compute.stop();
            assertThat(bucket.list(WalObjectKeys.timelinePrefix(c.timeline))).isNotEmpty();
            c.nodes[2].node().deleteTimeline(c.timeline);
            c.nodes[1].node().deleteTimeline(c.timeline);
            c.nodes[0].node().deleteTimeline(c.timeline);
            assertThat(bucket.list(WalObjectKeys.timelinePrefix(c.timeline))).isEmpty();
        }
    }

    @Test
    void segmentsFarBelowTheRemoteConsistentLsnAreDeletedFromObjectStorage(
            @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir) throws Exception {
        try (OffloadCluster c = OffloadCluster.start(dir); RemoteStorage bucket = c.bucket()) {
            Lsn written = c.writeWal(5);
            Lsn uploadable = written.segmentStart(SEGMENT);
            await(WAIT, "sk-1 offloads WAL up to " + uploadable, () -> !c.timeline(1).offloadedLsn().isBefore(uploadable));
            WalOffloader uploader = c.nodes[0].node().offloader(c.timeline).orElseThrow();
            int before = bucket.list(WalObjectKeys.timelinePrefix(c.timeline)).size();
            assertThat(before).isGreaterThanOrEqualTo(5);
            // Nothing is deleted while the pageserver has reported nothing.
            assertThat(uploader.trimRemote()).isZero();

            Lsn commit = c.timeline(1).status().commitLsn();
            c.reportRemoteConsistent(2, commit);
            await(WAIT, "sk-1 learns the remote-consistent LSN", () -> c.timeline(1).status().remoteConsistentLsn()
                    .segmentNumber(SEGMENT) >= uploadable.segmentNumber(SEGMENT) - 1);
            // With the default margin (4 GiB) these few segments all stay.
            assertThat(uploader.trimRemote()).isZero();

            long trimmedBefore = uploader.segmentsTrimmed();
            uploader.retainBehind(SEGMENT);
            Lsn horizon = Lsn.of(Lsn.min(c.timeline(1).status().remoteConsistentLsn(), c.timeline(1).offloadedLsn())
                    .value() - SEGMENT);
            String firstKept = c.timeline(1).wal().fileName(horizon.segmentNumber(SEGMENT));
            uploader.trimRemote(); // the offloader's own pass may run it first: count what both did
            int deleted = (int) (uploader.segmentsTrimmed() - trimmedBefore);
            assertThat(deleted).isPositive();
            List<RemoteStorage.RemoteObject> left = bucket.list(WalObjectKeys.timelinePrefix(c.timeline));
            assertThat(left).hasSize(before - deleted);
            assertThat(left).allSatisfy(o -> assertThat(WalObjectKeys.parse(o.key()).segmentName())
                    .isGreaterThanOrEqualTo(firstKept));
            // Done once per horizon: asked again, nothing more goes.
            assertThat(uploader.trimRemote()).isZero();
        }
    }

    @Test
    void anS3OutageKeepsWalOnDiskAndUploadsCatchUpAfterIt(@TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir)
            throws Exception {
        try (OffloadCluster c = OffloadCluster.start(dir)) {
            Lsn before = c.writeWal(2).segmentStart(SEGMENT);
            await(WAIT, "first segments offloaded", () -> !c.timeline(1).offloadedLsn().isBefore(before));

            c.s3Relay.setDown(true); // S3 unreachable
            Lsn during = c.writeWal(4);
            // Commits went on without S3 (the compute's commits waited for the quorum); sk-1 learns the commit LSN.
            await(WAIT, "sk-1 learns the commit LSN " + during.segmentStart(SEGMENT),
                    () -> !c.timeline(1).status().commitLsn().isBefore(during.segmentStart(SEGMENT)));
            c.reportRemoteConsistent(1, during);
            WalOffloader uploader = c.nodes[0].node().offloader(c.timeline).orElseThrow();
            await(WAIT, "the uploader reports the outage", () -> !uploader.lastError().isEmpty());
            Lsn offloadedDuring = c.timeline(1).offloadedLsn();
            assertThat(offloadedDuring).isLessThan(during.segmentStart(SEGMENT));
            for (int i = 1; i <= 3; i++) {
                Timeline t = c.timeline(i);
                await(WAIT, "sk-" + i + " removes what was offloaded before the outage",
                        () -> !t.wal().retainedStart().isBefore(offloadedDuring));
                assertThat(t.wal().retainedStart()).as("sk-%d keeps WAL not offloaded", i)
                        .isLessThanOrEqualTo(t.offloadedLsn());
                assertThat(t.status().offloadBacklogBytes(SEGMENT)).isPositive();
            }

            c.s3Relay.setDown(false);
            Lsn target = during.segmentStart(SEGMENT);
            for (int i = 1; i <= 3; i++) {
                Timeline t = c.timeline(i);
                await(WAIT, "sk-" + i + " sees the uploads catch up to " + target, () -> !t.offloadedLsn().isBefore(target));
            }
            c.reportRemoteConsistent(1, during); // the pageserver has everything by now
            for (int i = 1; i <= 3; i++) {
                Timeline t = c.timeline(i);
                await(WAIT, "sk-" + i + " then removes the segments offloaded after the outage",
                        () -> !t.wal().retainedStart().isBefore(target));
            }
            assertThat(uploader.lastError()).isEmpty();
            try (RemoteStorage bucket = c.bucket()) {
                assertThat(bucket.list(WalObjectKeys.timelinePrefix(c.timeline)))
                        .hasSize((int) (target.segmentNumber(SEGMENT) - c.start.segmentNumber(SEGMENT)));
            }
        }
    }

    private static byte[] segmentFromBucket(RemoteStorage bucket, OffloadCluster c, Lsn segStart) {
        String name = segStart.walFileName(1, SEGMENT);
        List<RemoteStorage.RemoteObject> found = bucket.list(WalObjectKeys.segmentPrefix(c.timeline, name));
        assertThat(found).hasSize(1);
        return bucket.get(found.getFirst().key());
    }

    /** Streams [from, until) from safekeeper {@code i}'s walsender as a standby would. */
    private static byte[] stream(OffloadCluster c, int i, Lsn from, Lsn until) throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
        try {
            ReplicationClient.Options opts = new ReplicationClient.Options("127.0.0.1", c.nodes[i - 1].walsenderPort(),
                    "strata_replicator", c.password, "offload-test", Duration.ofSeconds(10), "-c timeline_id=" + c.timeline);
            ReplicationClient client = ReplicationClient.start(group, opts, (IdentifySystem s) -> from,
                    new ReplicationClient.Listener() {
                        @Override
                        public boolean onWal(Lsn start, byte[] payload, Lsn serverWalEnd) {
                            if (start.equals(from.plus(got.size()))) {
                                got.writeBytes(payload);
                            } else {
                                done.completeExceptionally(new AssertionError("WAL at " + start + ", expected "
                                        + from.plus(got.size())));
                            }
                            if (got.size() >= until.minus(from)) {
                                done.complete(null);
                            }
                            return true;
                        }

                        @Override
                        public void onClosed(Throwable cause) {
                            done.completeExceptionally(cause != null ? cause : new AssertionError("closed early"));
                        }
                    }).get(10, TimeUnit.SECONDS);
            try {
                done.get(20, TimeUnit.SECONDS);
            } finally {
                client.close();
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        return Arrays.copyOf(got.toByteArray(), (int) until.minus(from));
    }
}
