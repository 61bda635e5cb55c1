package dev.strata.pageserver.timeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.LayerName;
import dev.strata.pageserver.layer.Value;
import dev.strata.remote.Checksums;
import dev.strata.remote.EmbeddedS3;
import dev.strata.remote.Generation;
import dev.strata.pageserver.remote.IndexPart;
import dev.strata.pageserver.remote.IndexPartCodec;
import dev.strata.pageserver.remote.RemoteLayout;
import dev.strata.remote.RemoteStorage;
import dev.strata.remote.S3RemoteStorage;
import dev.strata.pgcore.fs.FileTrees;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Layer upload, the index, generations and attach, against a real S3-compatible server
 * (S3Proxy on loopback) with the real SDK client. Values are put into the timeline's store
 * directly (no PostgreSQL: what is tested is the path from layer files to S3 and back).
 */
class RemoteUploadAttachTest {

    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final Lsn START = Lsn.ofSegment(1, 16 << 20);

    @TempDir
    Path tmp;
    S3TimelineFixture fx;
    EmbeddedS3 s3;

    @BeforeEach
    void start() throws Exception {
        fx = S3TimelineFixture.start(tmp.resolve("s3"));
        s3 = fx.s3();
    }

    @AfterEach
    void stop() throws Exception {
        fx.close();
    }

    private RemoteStorage storage() {
        return fx.storage();
    }

    private TimelineManager manager(Path dataDir, long generation) {
        return fx.manager(dataDir, generation, StorageConfig.DEFAULTS, storage());
    }

    private static Key block(int n) {
        return Key.relationBlock(1663, 5, 16384, 0, n);
    }

    private static byte[] page(int block, int round) {
        byte[] p = new byte[8192];
        Arrays.fill(p, (byte) (block * 31 + round));
        p[0] = (byte) round;
        return p;
    }

    /** One "record" per round: puts 50 blocks at a new LSN, then flushes a delta layer. */
    private static Lsn writeRound(Timeline t, int round) {
        Lsn lsn = START.plus(0x100L * (round + 1));
        for (int b = 0; b < 50; b++) {
            t.store().put(block(b), lsn, new Value.Image(page(b, round)));
        }
        t.store().freezeAndFlush();
        return lsn;
    }

    private static Map<String, byte[]> snapshot(Timeline t, List<Lsn> lsns) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (Lsn lsn : lsns) {
            for (int b = 0; b < 50; b++) {
                out.put(lsn + "/" + b, t.store().getValue(block(b), lsn, t.redo()));
            }
        }
        return out;
    }

    private List<String> keys(RemoteStorage s, TimelineId id) {
        return s.list(RemoteLayout.timelinePrefix(id)).stream().map(RemoteStorage.RemoteObject::key).toList();
    }

    @Test
    void layersAndIndexAreUploadedAndATimelineAttachesFromThemAlone() throws Exception {
        TimelineId id = TimelineId.random();
        Path dataA = tmp.resolve("ps-a");
        TimelineManager a = manager(dataA, 1);
        Timeline t = a.create(new TimelineManager.CreateRequest(id, START, false, false, List.of()));
        List<Lsn> lsns = new ArrayList<>();
        for (int round = 0; round < 4; round++) {
            lsns.add(writeRound(t, round));
        }
        Lsn dcl = t.store().diskConsistentLsn();
        assertThat(dcl).isEqualTo(lsns.get(3));
        assertThat(t.awaitRemoteConsistent(dcl, WAIT)).as("remote-consistent reaches %s: %s", dcl, t.remoteStatus()).isTrue();

        // Every layer the metadata lists is in S3 under generation 1, with the index after them.
        RemoteStorage s = storage();
        TimelineMetadata durable = t.store().durableMetadata();
        assertThat(durable.layers()).hasSizeGreaterThanOrEqualTo(4);
        List<String> keys = keys(s, id);
        for (LayerName n : durable.layers()) {
            assertThat(keys).contains(RemoteLayout.layerKey(id, n, Generation.of(1)));
        }
        assertThat(keys).allMatch(k -> k.endsWith("-00000001"));
        String indexKey = RemoteLayout.indexKey(id, Generation.of(1));
        IndexPart index = IndexPartCodec.decode(s.get(indexKey), id, indexKey);
        assertThat(index.diskConsistentLsn()).isEqualTo(dcl);
        assertThat(index.generation()).isEqualTo(Generation.of(1));
        assertThat(index.startLsn()).isEqualTo(START);
        assertThat(index.layers().keySet()).containsExactlyElementsOf(durable.layers().stream().sorted().toList());
        for (var e : index.layers().entrySet()) {
            Path local = t.store().directory().resolve(e.getKey().toString());
            assertThat(e.getValue().size()).isEqualTo(Files.size(local));
            assertThat(e.getValue().crc32c()).isEqualTo(Checksums.crc32c(local));
        }
        assertThat(t.remoteStatus().pendingLayers()).isZero();
        assertThat(t.remoteStatus().lastError()).isNull();
        assertThat(t.remoteConsistentLsn()).isEqualTo(dcl);

        // The pageserver loses its disk: everything but S3 is gone.
        Map<String, byte[]> expected = snapshot(t, lsns);
        a.close();
        FileTrees.deleteRecursively(dataA);
        assertThat(Files.exists(dataA)).isFalse();

        TimelineManager b = manager(tmp.resolve("ps-b"), 2);
        Timeline attached = b.attach(id, List.of());
        assertThat(attached.store().diskConsistentLsn()).isEqualTo(dcl);
        assertThat(attached.lastRecordLsn()).isEqualTo(dcl);
        Map<String, byte[]> got = snapshot(attached, lsns);
        assertThat(got.keySet()).containsExactlyElementsOf(expected.keySet());
        for (String k : expected.keySet()) {
            assertThat(got.get(k)).as(k).isEqualTo(expected.get(k));
        }
        // The new owner writes its own index, pointing at the layers where they are (no re-upload).
        assertThat(attached.awaitRemoteConsistent(dcl, WAIT)).isTrue();
        String index2Key = RemoteLayout.indexKey(id, Generation.of(2));
        awaitKey(s, id, index2Key);
        IndexPart index2 = IndexPartCodec.decode(s.get(index2Key), id, index2Key);
        assertThat(index2.layers()).isEqualTo(index.layers());
        assertThat(attached.remoteStatus().layersUploaded()).isZero();

        // It keeps going: a new layer is uploaded under generation 2 and listed by index 2.
        Lsn more = writeRound(attached, 9);
        assertThat(attached.awaitRemoteConsistent(more, WAIT)).isTrue();
        IndexPart index3 = IndexPartCodec.decode(s.get(index2Key), id, index2Key);
        assertThat(index3.diskConsistentLsn()).isEqualTo(more);
        assertThat(index3.layers().values()).anyMatch(m -> m.generation().equals(Generation.of(2)));
        assertThat(attached.store().getValue(block(7), more, attached.redo())).isEqualTo(page(7, 9));

        // Attaching a timeline S3 does not have is a clear "not found".
        assertThatThrownBy(() -> b.attach(TimelineId.random(), List.of())).isInstanceOfSatisfying(TimelineException.class,
                e -> assertThat(e.kind()).isEqualTo(TimelineException.Kind.NOT_FOUND));
    }

    @Test
    void ingestAndFlushesGoOnThroughAnS3OutageAndUploadsCatchUpAfterIt() throws Exception {
        TimelineId id = TimelineId.random();
        TimelineManager a = manager(tmp.resolve("ps"), 1);
        Timeline t = a.create(new TimelineManager.CreateRequest(id, START, false, false, List.of()));
        Lsn first = writeRound(t, 0);
        assertThat(t.awaitRemoteConsistent(first, WAIT)).isTrue();

        s3.stop();
        Lsn last = first;
        for (int round = 1; round <= 3; round++) {
            last = writeRound(t, round); // returns: flushes never wait for S3
        }
        assertThat(t.store().diskConsistentLsn()).isEqualTo(last);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (t.remoteStatus().lastError() == null && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(t.remoteStatus().lastError()).as("the outage shows in the status").isNotNull();
        assertThat(t.remoteConsistentLsn()).isEqualTo(first);
        assertThat(t.remoteStatus().pendingLayers()).isPositive();
        // The upload backlog the AWS deployment alarms on: the layer files S3 does not have yet.
        assertThat(t.remoteStatus().pendingBytes()).as("%s", t.remoteStatus()).isPositive();
        assertThat(backlog(a)).isEqualTo(t.remoteStatus().pendingBytes());

        s3.start();
        assertThat(t.awaitRemoteConsistent(last, WAIT)).as("uploads resume: %s", t.remoteStatus()).isTrue();
        awaitNoError(t);
        assertThat(t.remoteStatus().pendingLayers()).isZero();
        assertThat(t.remoteStatus().pendingBytes()).isZero();
        assertThat(backlog(a)).isZero();
    }

    /** The pageserver's RemoteUploadQueueBytes gauge, as the metrics reporter reads it. */
    private static double backlog(TimelineManager m) {
        return dev.strata.pageserver.metrics.PageserverGauges.read(m).stream()
                .filter(s -> s.name().equals(dev.strata.pgcore.metrics.MetricNames.REMOTE_UPLOAD_QUEUE_BYTES))
                .findFirst().orElseThrow().value();
    }

    @Test
    void aStalePageserverCannotOverwriteTheNewOwnersIndexOrLayers() throws Exception {
        TimelineId id = TimelineId.random();
        TimelineManager old = manager(tmp.resolve("ps-old"), 1);
        Timeline t1 = old.create(new TimelineManager.CreateRequest(id, START, false, false, List.of()));
        Lsn l1 = writeRound(t1, 0);
        assertThat(t1.awaitRemoteConsistent(l1, WAIT)).isTrue();

        // A second pageserver attaches under generation 2 while the first still runs (a split brain).
        TimelineManager current = manager(tmp.resolve("ps-new"), 2);
        Timeline t2 = current.attach(id, List.of());
        Lsn l2 = writeRound(t2, 5);
        assertThat(t2.awaitRemoteConsistent(l2, WAIT)).isTrue();
        RemoteStorage s = storage();
        String index2Key = RemoteLayout.indexKey(id, Generation.of(2));
        byte[] index2 = s.get(index2Key);
        List<String> gen2Objects = keys(s, id).stream().filter(k -> k.endsWith("-00000002")).toList();

        // The stale one keeps writing history of its own.
        Lsn stale = writeRound(t1, 6);
        assertThat(t1.awaitRemoteConsistent(stale, WAIT)).isTrue();

        // It wrote only generation-1 keys: the new owner's index and layers are untouched.
        assertThat(s.get(index2Key)).isEqualTo(index2);
        assertThat(keys(s, id).stream().filter(k -> k.endsWith("-00000002")).toList()).isEqualTo(gen2Objects);
        for (String k : gen2Objects) {
            if (!k.equals(index2Key)) {
                String name = k.substring(RemoteLayout.timelinePrefix(id).length(), k.length() - 9);
                assertThat(Checksums.crc32c(s.get(k))).isEqualTo(IndexPartCodec.decode(index2, id, index2Key)
                        .layers().get(LayerName.parse(name)).crc32c());
            }
        }
        // And the next attach (generation 3) follows generation 2, not the stale writer's newer LSN.
        TimelineManager next = manager(tmp.resolve("ps-next"), 3);
        Timeline t3 = next.attach(id, List.of());
        assertThat(t3.store().diskConsistentLsn()).isEqualTo(l2);
        assertThat(t3.store().getValue(block(3), l2, t3.redo())).isEqualTo(page(3, 5));

        // A pageserver restarted under the old generation sees the newer one and uploads nothing.
        awaitKey(s, id, RemoteLayout.indexKey(id, Generation.of(3)));
        old.close();
        TimelineManager restarted = manager(tmp.resolve("ps-old"), 1);
        restarted.loadAll();
        Timeline again = restarted.get(id);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!again.remoteStatus().stale() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(again.remoteStatus().stale()).isTrue();
        assertThat(again.remoteStatus().lastError()).contains("generation 3");
    }

    private static void awaitNoError(Timeline t) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (t.remoteStatus().lastError() != null && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(t.remoteStatus().lastError()).isNull();
    }

    private void awaitKey(RemoteStorage s, TimelineId id, String key) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!keys(s, id).contains(key) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(keys(s, id)).contains(key);
    }
}
