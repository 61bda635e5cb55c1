package dev.strata.pageserver.timeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.AppendingRedoForTests;
import dev.strata.pageserver.layer.DeltaLayer;
import dev.strata.pageserver.layer.LayerName;
import dev.strata.pageserver.layer.Value;
import dev.strata.pageserver.remote.IndexPart;
import dev.strata.pageserver.remote.IndexPartCodec;
import dev.strata.pageserver.remote.RemoteLayout;
import dev.strata.remote.Generation;
import dev.strata.remote.RemoteStorage;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * L0 compaction with history in S3 (decisions 0016, 0024, 0033), on a real S3-compatible server:
 * the L1 layers are uploaded and named by an index before any L0 object is deleted, and an L0
 * object is deleted only once an index without it is durable (checked on every request by
 * {@link OrderChecking}); after the deletions S3 holds no L0 layer of the run; a pageserver that
 * attaches the timeline from S3 reads every value as before, and its first GetPage downloads one
 * L1 layer instead of every L0 layer.
 */
class Level0CompactionS3Test {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final AppendingRedoForTests REDO = AppendingRedoForTests.INSTANCE;
    /** No image layers (so the first read's layers are deltas only); L1 layers cut at 300 bytes. */
    private static final StorageConfig CONFIG = StorageConfig.DEFAULTS.withCompactionThreshold(4)
            .withCompactionTargetBytes(300).withImageCreationThreshold(1000);
    private static final long START = 0x1000000;

    @TempDir
    Path tmp;

    private static Key block(int b) {
        return Key.relationBlock(1663, 5, 16384, 0, b);
    }

    /**
     * Forwards to the real storage and records each layer upload, index put and deletion, and
     * whether they came in an order that could leave an index naming a missing object.
     */
    private static final class OrderChecking implements RemoteStorage {
        private final RemoteStorage inner;
        private final TimelineId id;
        private final Set<String> uploaded = new HashSet<>();
        private Set<LayerName> newestIndex = Set.of();
        private final Set<LayerName> everIndexed = new HashSet<>();
        private final List<String> violations = new ArrayList<>();
        private int deletions;

        OrderChecking(RemoteStorage inner, TimelineId id) {
            this.inner = inner;
            this.id = id;
        }

        @Override
        public void upload(String key, Path file, int crc32c) {
            inner.upload(key, file, crc32c);
            synchronized (this) {
                uploaded.add(key);
            }
        }

        @Override
        public void put(String key, byte[] bytes) {
            if (RemoteLayout.indexGeneration(id, key) != null) {
                IndexPart index = IndexPartCodec.decode(bytes, id, key);
                synchronized (this) {
                    for (var e : index.layers().entrySet()) {
                        String layerKey = RemoteLayout.layerKey(id, e.getKey(), e.getValue().generation());
                        if (!uploaded.contains(layerKey)) {
                            violations.add("index " + key + " names " + layerKey + " before its upload returned");
                        }
                    }
                }
                inner.put(key, bytes);
                synchronized (this) {
                    newestIndex = Set.copyOf(index.layers().keySet());
                    everIndexed.addAll(newestIndex);
                }
                return;
            }
            inner.put(key, bytes);
        }

        @Override
        public byte[] get(String key) {
            return inner.get(key);
        }

        @Override
        public void download(String key, Path target) {
            inner.download(key, target);
        }

        @Override
        public List<RemoteObject> list(String prefix) {
            return inner.list(prefix);
        }

        @Override
        public void delete(String key) {
            LayerName name = layerOf(id, key);
            synchronized (this) {
                if (name != null && newestIndex.contains(name)) {
                    violations.add("deleted " + key + " while the newest durable index names it");
                }
                deletions++;
            }
            inner.delete(key);
        }

        synchronized List<String> violations() {
            return List.copyOf(violations);
        }

        synchronized Set<LayerName> everIndexed() {
            return Set.copyOf(everIndexed);
        }

        synchronized Set<LayerName> newestIndex() {
            return newestIndex;
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    /** The layer a layer object key names, or null for other keys. */
    private static LayerName layerOf(TimelineId id, String key) {
        String prefix = RemoteLayout.timelinePrefix(id);
        if (!key.startsWith(prefix) || key.length() < prefix.length() + 9) {
            return null;
        }
        return LayerName.tryParse(key.substring(prefix.length(), key.length() - 9));
    }

    @Test
    void l1LayersReachTheIndexBeforeL0ObjectsGoAndAnAttachReadsTheSame() throws Exception {
        try (S3TimelineFixture fx = S3TimelineFixture.start(tmp.resolve("s3"))) {
            TimelineId id = TimelineId.random();
            OrderChecking storage = new OrderChecking(fx.storage(), id);
            TimelineManager one = fx.manager(tmp.resolve("ps-1"), 1, CONFIG, storage);
            Timeline t1 = one.create(new TimelineManager.CreateRequest(id, Lsn.of(START), false, false, List.of()));
            LayerStore store = t1.store();
            List<Long> lsns = new ArrayList<>();
            for (int n = 1; n <= 7; n++) {
                long lsn = START + 0x100L * n;
                lsns.add(lsn);
                for (int b = 0; b < 40; b++) {
                    if (n == 1 || b % n == 0) {
                        Value v = n == 1 || b % 2 == 0 ? new Value.Image(("page " + b + " v" + n).getBytes())
                                : new Value.WalRecord((" +" + n).getBytes(), false);
                        store.put(block(b), Lsn.of(lsn), v);
                    }
                }
                store.freezeAndFlush();
                if (n == 3) {
                    // Three L0 layers in S3 first, so compaction replaces layers an index names.
                    assertThat(t1.awaitRemoteConsistent(store.diskConsistentLsn(), WAIT)).isTrue();
                }
            }
            Map<String, byte[]> expected = readAll(store, lsns);

            store.compactLevel0(); // the flusher may have done (some of) it already
            assertThat(store.layerMap().level0Deltas()).hasSizeLessThan(CONFIG.compactionThreshold());
            List<DeltaLayer> l1 = store.layerMap().deltas().stream().filter(d -> !d.isLevel0()).toList();
            assertThat(l1).hasSizeGreaterThan(1);
            assertThat(readAll(store, lsns)).allSatisfy((k, v) -> assertThat(v).as(k).isEqualTo(expected.get(k)));
            Lsn end = store.diskConsistentLsn();
            assertThat(t1.awaitRemoteConsistent(end, WAIT)).isTrue();
            awaitTrue(() -> storage.newestIndex().equals(Set.copyOf(store.durableMetadata().layers())),
                    "an index of the compacted layers");
            // Every L0 layer an index named and compaction replaced is deleted from S3 (after that index).
            awaitTrue(() -> {
                Set<LayerName> gone = new TreeSet<>(storage.everIndexed());
                gone.removeAll(store.durableMetadata().layers());
                Set<LayerName> left = objects(storage, id);
                left.retainAll(gone);
                return left.isEmpty();
            }, "the replaced L0 objects deleted: " + objects(storage, id));
            assertThat(t1.remoteStatus().layersDeleted()).as("the three L0 layers indexed first").isGreaterThanOrEqualTo(3);
            assertThat(storage.violations()).isEmpty();
            assertThat(objects(storage, id)).containsAll(store.durableMetadata().layers());
            long last = lsns.getLast();
            dev.strata.pageserver.layer.ReconstructState s = new dev.strata.pageserver.layer.ReconstructState();
            store.layerMap().search(block(5), last, s);
            int firstReadLayers = s.layersVisited();
            assertThat(firstReadLayers).as("one L1 layer, plus the L0 layers left under the threshold")
                    .isBetween(1, CONFIG.compactionThreshold());

            // The status and the gauges report it.
            var status = dev.strata.pageserver.http.Dto.TimelineStatus.of(t1).compaction();
            assertThat(status.level0Compactions()).isPositive();
            assertThat(status.level1Layers()).isEqualTo(l1.size());
            assertThat(status.level0Layers()).isEqualTo(store.layerMap().level0Deltas().size());
            assertThat(status.pageReads()).isGreaterThanOrEqualTo(2 * 40L * lsns.size());
            assertThat(status.layersVisitedPerRead()).isPositive();
            assertThat(status.recordsReplayedPerRead()).isPositive();
            var gauges = dev.strata.pageserver.metrics.PageserverGauges.read(one);
            assertThat(gauges).anySatisfy(g -> {
                assertThat(g.name()).isEqualTo(dev.strata.pageserver.metrics.PageserverGauges.LAYERS_VISITED_PER_GETPAGE);
                assertThat(g.value()).isPositive();
            });

            // Another pageserver attaches from S3 alone: one L1 layer for the first read, same values.
            TimelineManager two = fx.manager(tmp.resolve("ps-2"), 2, CONFIG, fx.storage());
            Timeline t2 = two.attach(id, List.of());
            assertThat(t2.store().residence().local()).isZero();
            assertThat(t2.store().getValue(block(5), Lsn.of(last), REDO)).isEqualTo(expected.get(block(5) + "@" + last));
            assertThat(t2.store().residence().local()).as("layers downloaded for the first GetPage (of 7 L0 layers written)")
                    .isEqualTo(firstReadLayers);
            Map<String, byte[]> attached = readAll(t2.store(), lsns);
            for (Map.Entry<String, byte[]> e : expected.entrySet()) {
                assertThat(attached.get(e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
            }
        }
    }

    private static Map<String, byte[]> readAll(LayerStore store, List<Long> lsns) {
        Map<String, byte[]> out = new HashMap<>();
        for (int b = 0; b < 40; b++) {
            for (long l : lsns) {
                out.put(block(b) + "@" + l, store.getValue(block(b), Lsn.of(l), REDO));
            }
        }
        return out;
    }

    private static Set<LayerName> objects(RemoteStorage s, TimelineId id) {
        Set<LayerName> out = new TreeSet<>();
        s.list(RemoteLayout.timelinePrefix(id)).forEach(o -> {
            LayerName n = layerOf(id, o.key());
            if (n != null) {
                out.add(n);
            }
        });
        return out;
    }

    private static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            Thread.sleep(50);
        }
    }
}
