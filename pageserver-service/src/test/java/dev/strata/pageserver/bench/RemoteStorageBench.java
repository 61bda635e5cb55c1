package dev.strata.pageserver.bench;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.Value;
import dev.strata.remote.EmbeddedS3;
import dev.strata.remote.Generation;
import dev.strata.remote.RemoteStorage;
import dev.strata.remote.RetryingRemoteStorage;
import dev.strata.remote.S3RemoteStorage;
import dev.strata.pageserver.timeline.RemoteTimeline;
import dev.strata.pageserver.timeline.StorageConfig;
import dev.strata.pageserver.timeline.Timeline;
import dev.strata.pageserver.timeline.TimelineManager;
import dev.strata.pgcore.fs.FileTrees;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import dev.strata.pageserver.layer.LayerCache;
import dev.strata.pageserver.layer.LayerMap;

/**
 * History in S3 on loopback (bench/pageserver-s3.sh): a timeline of MB megabytes of random 8 KiB
 * page images in delta layers of LAYER_MB, uploaded to S3Proxy (filesystem store) by the
 * timeline uploader; then the pageserver's directory is deleted and the timeline attached from
 * S3 on an empty disk (the index only). Prints flush and upload rates, S3 requests per GB both
 * ways, attach time, the time to the first GetPage (one on-demand download), and the full
 * download rate (one GetPage per 8 MiB of pages, each downloading its layer once). With
 * {@code l1}, the flusher compacts every two L0 layers into L1 layers (cut by key range, decision
 * 0033) as they come and the bench waits until the index lists them: the attach then finds L1
 * layers, and the first GetPage downloads the one that holds its key instead of every L0.
 *   RemoteStorageBench [MB=512] [LAYER_MB=64] [l0|l1]
 */
public final class RemoteStorageBench {

    public static void main(String[] args) throws Exception {
        int mb = args.length > 0 ? Integer.parseInt(args[0]) : 512;
        int layerMb = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int pagesPerLayer = layerMb * 128;
        int layers = Math.max(1, mb / layerMb);
        boolean level1 = args.length > 2 && args[2].equals("l1");
        if (args.length > 2 && !level1 && !args[2].equals("l0")) {
            throw new IllegalArgumentException("the third argument is l0 (the default) or l1, not " + args[2]);
        }
        Path tmp = Files.createTempDirectory("strata-s3-bench");
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try (EmbeddedS3 s3 = EmbeddedS3.start(tmp.resolve("s3"));
             Counting storage = new Counting(new RetryingRemoteStorage(new S3RemoteStorage(s3.config()),
                     RetryingRemoteStorage.Policy.DEFAULTS))) {
            TimelineId id = TimelineId.random();
            Lsn start = Lsn.ofSegment(1, 16 << 20);
            Path dataA = tmp.resolve("ps-a");
            // Big open layers: each round is frozen and flushed by hand, one delta layer each. l0: no
            // L0 -> L1 compaction at all; l1: the flusher compacts every two L0 layers as they come.
            StorageConfig storageConfig = new StorageConfig(4L << 30, 1_000_000, 16384)
                    .withCompactionThreshold(level1 ? 2 : 1_000_000);
            Lsn last;
            long bytes;
            long puts;
            try (TimelineManager a = new TimelineManager(dataA, storageConfig, Timeline.Options.DEFAULTS, group,
                    new RemoteTimeline(storage, Generation.of(1)))) {
                Timeline t = a.create(new TimelineManager.CreateRequest(id, start, false, false, List.of()));
                byte[] page = new byte[8192];
                long t0 = System.nanoTime();
                last = start;
                for (int l = 0; l < layers; l++) {
                    last = start.plus(0x100L * (l + 1));
                    for (int p = 0; p < pagesPerLayer; p++) {
                        ThreadLocalRandom.current().nextBytes(page);
                        t.store().put(Key.relationBlock(1663, 5, 16384, 0, l * pagesPerLayer + p), last,
                                new Value.Image(page.clone()));
                    }
                    t.store().freezeAndFlush();
                }
                long flushed = System.nanoTime();
                if (level1) {
                    for (int pass = 0; pass < 1000 && !t.store().compactLevel0().isEmpty(); pass++) {
                        // what the flusher left (it compacts after its own flushes only)
                    }
                    LayerMap map = t.store().layerMap();
                    System.out.printf("L0 -> L1 compaction: %d L0 layers compacted, now %d L1 and %d L0 layers; "
                                    + "%.2f s after the last flush%n", t.store().level0LayersCompacted(),
                            map.deltas().size() - map.level0Deltas().size(), map.level0Deltas().size(),
                            sec(System.nanoTime() - flushed));
                }
                if (!t.awaitRemoteConsistent(last, Duration.ofMinutes(30))) {
                    throw new IllegalStateException("upload did not finish: " + t.remoteStatus());
                }
                if (level1) {
                    awaitUploaderIdle(t); // the last index, listing the L1 layers, is in S3
                }
                long uploaded = System.nanoTime();
                Timeline.RemoteStatus r = t.remoteStatus();
                bytes = r.bytesUploaded();
                puts = r.layersUploaded() + r.indexesUploaded();
                System.out.printf("data: %d layers uploaded, %.1f MB of layer files; %d layers listed now%n",
                        r.layersUploaded(), bytes / 1e6, t.store().layerMap().deltas().size());
                System.out.printf("put+flush: %.2f s (%.1f MB/s); upload done %.2f s after the first put, %.2f s after "
                                + "the last flush; upload rate over the whole run %.1f MB/s%n",
                        sec(flushed - t0), bytes / 1e6 / sec(flushed - t0), sec(uploaded - t0), sec(uploaded - flushed),
                        bytes / 1e6 / sec(uploaded - t0));
                System.out.printf("S3 PUTs: %d (%d layers, %d indexes) = %.0f per GB of layers%n", puts, r.layersUploaded(),
                        r.indexesUploaded(), puts / (bytes / 1e9));
                System.out.printf("S3 requests while uploading: %s = %.0f per GB of layers%n", storage,
                        storage.total() / (bytes / 1e9));
            }
            storage.reset();
            FileTrees.deleteRecursively(dataA);
            try (TimelineManager b = new TimelineManager(tmp.resolve("ps-b"), storageConfig, Timeline.Options.DEFAULTS,
                    group, new RemoteTimeline(storage, Generation.of(2)))) {
                long t0 = System.nanoTime();
                Timeline t = b.attach(id, List.of());
                long attached = System.nanoTime();
                byte[] v = t.store().getValue(Key.relationBlock(1663, 5, 16384, 0, 0), last, t.redo());
                long first = System.nanoTime();
                if (v == null || v.length != 8192) {
                    throw new IllegalStateException("attached timeline has no page 0");
                }
                System.out.printf("attach (index only, no layer downloaded): %.1f ms; first GetPage answered %.1f ms "
                        + "after the attach began, having downloaded %d layers on demand (a read walks every delta "
                        + "layer covering its key: L0 deltas cover all keys)%n", (attached - t0) / 1e6,
                        (first - t0) / 1e6, b.layerCache().downloads());
                // Full download: one page in every 8 MiB of the relation, each read downloading the layer
                // that holds it if no earlier read did (L1 layers are cut by key, so every range is read).
                long d0 = System.nanoTime();
                for (int block = 1024; block < layers * pagesPerLayer; block += 1024) {
                    if (t.store().getValue(Key.relationBlock(1663, 5, 16384, 0, block), last, t.redo()) == null) {
                        throw new IllegalStateException("attached timeline has no block " + block);
                    }
                }
                long d1 = System.nanoTime();
                LayerCache cache = b.layerCache();
                double downloadedMb = cache.downloadedBytes() / 1e6;
                System.out.printf("full download on demand: %d layers, %.1f MB in %.2f s = %.1f MB/s (one GetPage per "
                        + "8 MiB, sequential)%n", cache.downloads(), downloadedMb,
                        sec(d1 - t0), downloadedMb / sec(d1 - t0));
                System.out.printf("  of which after the first GetPage: %.2f s%n", sec(d1 - d0));
                System.out.printf("S3 requests for attach + full download: %s = %.0f per GB downloaded%n", storage,
                        storage.total() / (cache.downloadedBytes() / 1e9));
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            FileTrees.deleteRecursively(tmp);
        }
    }

    /** Counts requests by kind on their way to the real store (before its retries). */
    private static final class Counting implements RemoteStorage {
        private final RemoteStorage real;
        private final AtomicLong puts = new AtomicLong();
        private final AtomicLong gets = new AtomicLong();
        private final AtomicLong lists = new AtomicLong();
        private final AtomicLong deletes = new AtomicLong();

        Counting(RemoteStorage real) {
            this.real = real;
        }

        long total() {
            return puts.get() + gets.get() + lists.get() + deletes.get();
        }

        void reset() {
            puts.set(0);
            gets.set(0);
            lists.set(0);
            deletes.set(0);
        }

        @Override
        public void upload(String key, Path file, int crc32c) {
            puts.incrementAndGet();
            real.upload(key, file, crc32c);
        }

        @Override
        public void put(String key, byte[] bytes) {
            puts.incrementAndGet();
            real.put(key, bytes);
        }

        @Override
        public byte[] get(String key) {
            gets.incrementAndGet();
            return real.get(key);
        }

        @Override
        public void download(String key, Path target) {
            gets.incrementAndGet();
            real.download(key, target);
        }

        @Override
        public List<RemoteObject> list(String prefix) {
            lists.incrementAndGet();
            return real.list(prefix);
        }

        @Override
        public void delete(String key) {
            deletes.incrementAndGet();
            real.delete(key);
        }

        @Override
        public void close() {
            real.close();
        }

        @Override
        public String toString() {
            return total() + " (PUT " + puts + ", GET " + gets + ", LIST " + lists + ", DELETE " + deletes + ")";
        }
    }

    /** Until the uploader has had nothing to do for 2 s (bounded by 30 minutes). */
    private static void awaitUploaderIdle(Timeline t) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(30);
        long idleSince = System.nanoTime();
        long indexes = t.remoteStatus().indexesUploaded();
        while (System.nanoTime() - idleSince < TimeUnit.SECONDS.toNanos(2)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the uploader never went idle: " + t.remoteStatus());
            }
            Timeline.RemoteStatus now = t.remoteStatus();
            if (now.pendingLayers() > 0 || now.indexesUploaded() != indexes) {
                idleSince = System.nanoTime();
                indexes = now.indexesUploaded();
            }
            Thread.sleep(50);
        }
    }

    private static double sec(long nanos) {
        return nanos / 1e9;
    }
}
