package dev.strata.pageserver.timeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.DeltaLayer;
import dev.strata.pageserver.layer.ImageLayer;
import dev.strata.pageserver.layer.LayerCache;
import dev.strata.pageserver.layer.LayerDownloadException;
import dev.strata.pageserver.layer.LayerMap;
import dev.strata.pageserver.layer.Value;
import dev.strata.pageserver.remote.RemoteLayout;
import dev.strata.pgcore.fs.FileTrees;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.remote.EmbeddedS3;
import dev.strata.remote.FaultyRemoteStorage;
import dev.strata.remote.Generation;
import dev.strata.remote.RemoteStorage;
import dev.strata.remote.S3RemoteStorage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Local layer files as a cache of object storage (docs/pageserver.md, "Layer cache"), against
 * a real S3-compatible server (S3Proxy on loopback): attach reads only the index and reads
 * download layers on demand; a small budget evicts layers that are in S3 (never others) and
 * reads download them again; a failed download is a clear error for that read only. Values go
 * into the store directly: what is tested is the path between layer files and S3.
 */
class LayerCacheTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Lsn START = Lsn.ofSegment(1, 16 << 20);
    private static final int BLOCKS = 40;

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

    private TimelineManager manager(Path dataDir, long generation, long budget, RemoteStorage storage) {
        return fx.manager(dataDir, generation, StorageConfig.DEFAULTS.withLayerCacheBudgetBytes(budget), storage);
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

    /** One record per round: a new version of every block at a new LSN, flushed as a delta layer. */
    private static Lsn writeRound(Timeline t, int round) {
        Lsn lsn = START.plus(0x100L * (round + 1));
        for (int b = 0; b < BLOCKS; b++) {
            t.store().put(block(b), lsn, new Value.Image(page(b, round)));
        }
        t.store().freezeAndFlush();
        return lsn;
    }

    private static Map<String, byte[]> snapshot(Timeline t, List<Lsn> lsns) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (Lsn lsn : lsns) {
            for (int b = 0; b < BLOCKS; b++) {
                out.put(lsn + "/" + b, t.store().getValue(block(b), lsn, t.redo()));
            }
        }
        return out;
    }

    private static void assertSame(Map<String, byte[]> got, Map<String, byte[]> expected) {
        assertThat(got.keySet()).containsExactlyElementsOf(expected.keySet());
        for (String k : expected.keySet()) {
            assertThat(got.get(k)).as(k).isEqualTo(expected.get(k));
        }
    }

    /** A timeline of {@code rounds} delta layers, all in S3 under generation 1; its directory is then deleted. */
    private List<Lsn> timelineInS3Only(TimelineId id, int rounds, Map<String, byte[]> expected) throws Exception {
        Path data = tmp.resolve("ps-original");
        TimelineManager a = manager(data, 1, LayerCache.UNLIMITED, storage());
        Timeline t = a.create(new TimelineManager.CreateRequest(id, START, false, false, List.of()));
        List<Lsn> lsns = new ArrayList<>();
        for (int round = 0; round < rounds; round++) {
            lsns.add(writeRound(t, round));
        }
        assertThat(t.awaitRemoteConsistent(lsns.getLast(), WAIT)).as("%s", t.remoteStatus()).isTrue();
        expected.putAll(snapshot(t, lsns));
        a.close();
        FileTrees.deleteRecursively(data);
        return lsns;
    }

    @Test
    void attachReadsOnlyTheIndexAndASmallBudgetEvictsAndDownloadsAgain() throws Exception {
        TimelineId id = TimelineId.random();
        Map<String, byte[]> expected = new LinkedHashMap<>();
        List<Lsn> lsns = timelineInS3Only(id, 6, expected);

        // A budget smaller than two layers: reads must evict as they go.
        long budget = 400_000;
        TimelineManager b = manager(tmp.resolve("ps-b"), 2, budget, storage());
        Timeline t = b.attach(id, List.of());
        LayerCache cache = b.layerCache();
        assertThat(t.store().diskConsistentLsn()).isEqualTo(lsns.getLast());
        assertThat(t.store().residence().local()).as("attach downloads nothing").isZero();
        assertThat(t.store().residence().remoteOnly()).isEqualTo(t.store().durableMetadata().layers().size());
        assertThat(cache.downloads()).isZero();

        // Concurrent readers of the same missing layer share one download.
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<byte[]>> reads = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                reads.add(pool.submit(() -> t.store().getValue(block(1), lsns.getLast(), t.redo())));
            }
            for (Future<byte[]> f : reads) {
                assertThat(f.get(30, TimeUnit.SECONDS)).isEqualTo(page(1, 5));
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(cache.downloads()).as("one download for four readers of one layer").isEqualTo(1);

        // Every version of every block, read on demand, equals what the original pageserver served.
        assertSame(snapshot(t, lsns), expected);
        long downloadsFirst = cache.downloads();
        assertThat(downloadsFirst).isGreaterThanOrEqualTo(6);
        assertThat(cache.evictions()).as("a small budget evicts").isPositive();
        long largest = maxLayerBytes(t.store().layerMap());
        assertThat(cache.localBytes()).isLessThanOrEqualTo(budget + largest);

        // Read again: the evicted layers come back from S3, with the same contents.
        assertSame(snapshot(t, lsns), expected);
        assertThat(cache.downloads()).as("evicted layers are downloaded again").isGreaterThan(downloadsFirst);
        assertThat(cache.downloadFailures()).isZero();
    }

    @Test
    void layersNotYetInS3AreNeverEvictedAndARestartFindsEvictedLayersInS3() throws Exception {
        TimelineId id = TimelineId.random();
        Path data = tmp.resolve("ps");
        long budget = 200_000;
        TimelineManager a = manager(data, 1, budget, storage());
        Timeline t = a.create(new TimelineManager.CreateRequest(id, START, false, false, List.of()));
        Lsn first = writeRound(t, 0);
        assertThat(t.awaitRemoteConsistent(first, WAIT)).isTrue();

        // S3 is down: new layers cannot go up, so they stay local however far over budget.
        s3.stop();
        List<Lsn> lsns = new ArrayList<>(List.of(first));
        for (int round = 1; round <= 4; round++) {
            lsns.add(writeRound(t, round));
        }
        // (The first layer is in S3 and was evicted: reading it now would fail, so the oracle is what was written.)
        Map<String, byte[]> expected = new LinkedHashMap<>();
        for (int round = 0; round < lsns.size(); round++) {
            for (int b = 0; b < BLOCKS; b++) {
                expected.put(lsns.get(round) + "/" + b, page(b, round));
            }
        }
        LayerCache cache = a.layerCache();
        assertThat(cache.localBytes()).isGreaterThan(budget);
        for (DeltaLayer d : t.store().layerMap().deltas()) {
            if (Long.compareUnsigned(d.lsnStart(), first.value()) > 0) {
                assertThat(d.handle().isLocal()).as("%s is not in S3: kept", d.name()).isTrue();
            }
        }

        // S3 is back: the uploads land and the cache evicts down to its budget.
        s3.start();
        assertThat(t.awaitRemoteConsistent(lsns.getLast(), WAIT)).as("%s", t.remoteStatus()).isTrue();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (cache.localBytes() > budget && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(cache.localBytes()).isLessThanOrEqualTo(budget);
        assertThat(t.store().residence().remoteOnly()).isPositive();
        assertSame(snapshot(t, lsns), expected);

        // A restart finds some listed layers missing locally and takes them from the index in S3.
        a.close();
        TimelineManager again = manager(data, 1, budget, storage());
        again.loadAll();
        Timeline reloaded = again.get(id);
        assertThat(reloaded.store().residence().remoteOnly()).isPositive();
        assertSame(snapshot(reloaded, lsns), expected);
    }

    @Test
    void aFailedDownloadIsAClearErrorForThatReadAndTheNextReadSucceeds() throws Exception {
        TimelineId id = TimelineId.random();
        Map<String, byte[]> expected = new LinkedHashMap<>();
        List<Lsn> lsns = timelineInS3Only(id, 3, expected);

        FaultyRemoteStorage faulty = new FaultyRemoteStorage(storage());
        TimelineManager b = manager(tmp.resolve("ps-b"), 2, LayerCache.UNLIMITED, faulty);
        Timeline t = b.attach(id, List.of());
        // Let the new owner's index go up first, so only the reads meet the fault.
        assertThat(t.awaitRemoteConsistent(lsns.getLast(), WAIT)).isTrue();
        awaitIndex(storage(), id, Generation.of(2));

        faulty.failAlways(true);
        Lsn at = lsns.getLast();
        assertThatThrownBy(() -> t.store().getValue(block(3), at, t.redo()))
                .isInstanceOf(LayerDownloadException.class)
                .hasMessageContaining("timeline " + id)
                .hasMessageContaining("could not be downloaded")
                .hasMessageContaining("injected fault")
                .hasMessageContaining("the next read tries again");
        assertThat(b.layerCache().downloadFailures()).isPositive();
        assertThat(t.store().residence().local()).as("nothing half-downloaded is kept").isZero();

        faulty.failAlways(false);
        assertThat(t.store().getValue(block(3), at, t.redo())).isEqualTo(page(3, 2));
        assertSame(snapshot(t, lsns), expected);
    }

    private static long maxLayerBytes(LayerMap m) throws Exception {
        long max = 0;
        for (DeltaLayer d : m.deltas()) {
            max = Math.max(max, d.handle().isLocal() ? java.nio.file.Files.size(d.path()) : 0);
        }
        for (ImageLayer i : m.images()) {
            max = Math.max(max, i.handle().isLocal() ? java.nio.file.Files.size(i.path()) : 0);
        }
        return Math.max(max, 400_000);
    }

    private static void awaitIndex(RemoteStorage s, TimelineId id, Generation g) throws InterruptedException {
        String key = RemoteLayout.indexKey(id, g);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            if (s.list(RemoteLayout.indexPrefix(id)).stream().anyMatch(o -> o.key().equals(key))) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no index " + key);
    }
}
