package dev.strata.pageserver.bench;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.DeltaLayer;
import dev.strata.pageserver.layer.Redo;
import dev.strata.pageserver.layer.Value;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pageserver.timeline.ReadAmplification;
import dev.strata.pageserver.timeline.StorageConfig;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.testing.Bench;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Read amplification before and after L0 -> L1 compaction (issue 16 item 5), in one run:
 * {@code bench/l0-compaction.sh}. Synthetic puts through {@link LayerStore} (no PostgreSQL):
 * <ol>
 * <li>PAGES 8 KiB page images of one relation, flushed and image-compacted (the base: one image
 * per page);</li>
 * <li>LAYERS L0 delta layers above it, each a flush of UPDATES random page updates: a full-page
 * image in FPI percent of them (as after a checkpoint), else a 100-byte WAL record;</li>
 * <li>SAMPLE random pages read at the last LSN through {@link LayerStore#getValue}, one thread,
 * after a warm-up pass over the same sample: per read the layers visited and records replayed
 * (from {@link LayerStore#readAmplification()}), mean and p99, and the latency p50/p99;</li>
 * <li>{@link LayerStore#compactLevel0()} until it has nothing left (threshold = LAYERS, so one
 * pass merges them all), timed;</li>
 * <li>the same sample again.</li>
 * </ol>
 * After an attach from S3 every layer is remote and a read downloads each layer it visits
 * ({@code LayerFileHandle.acquire}): the layers visited by a page's first read are the layers an
 * attach downloads before that GetPage answers, so the "layers visited" rows are that figure too,
 * with the mean L0 and L1 sizes printed. Redo is a stand-in that copies the page and XORs each
 * record's bytes into it (the cost of a small redo, not PostgreSQL's). Figures on a shared machine;
 * nothing is asserted.
 *
 * <pre>
 * Level0CompactionBench [--pages 8192] [--layers 20] [--updates 4000] [--fpi 10] [--sample 5000] [--target-mb 8]
 * </pre>
 */
public final class Level0CompactionBench {

    private static final int PAGE = 8192;
    private static final TimelineId TL = TimelineId.parse("bb00000000000000000000000000cc01");

    /** Copies the base page and XORs every record's payload in at offset 256 (a stand-in for redo). */
    private static final Redo XOR_REDO = (key, base, records) -> {
        byte[] page = base == null ? new byte[PAGE] : base.clone();
        for (Value.Record r : records) {
            byte[] p = ((Value.WalRecord) r).payload();
            for (int i = 0; i < p.length; i++) {
                page[256 + i] ^= p[i];
            }
        }
        return page;
    };

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = Bench.options("bench/l0-compaction.sh", Map.of("pages", "8192", "layers", "20",
                "updates", "4000", "fpi", "10", "sample", "5000", "target-mb", "8"), args);
        int pages = Integer.parseInt(opt.get("pages"));
        int layers = Integer.parseInt(opt.get("layers"));
        int updates = Integer.parseInt(opt.get("updates"));
        int fpi = Integer.parseInt(opt.get("fpi"));
        int sample = Integer.parseInt(opt.get("sample"));
        long target = Long.parseLong(opt.get("target-mb")) << 20;
        System.out.printf("l0-compaction bench: pages=%d layers=%d updates/layer=%d fpi=%d%% sample=%d l1-target=%d MiB%n",
                pages, layers, updates, fpi, sample, target >> 20);
        System.out.println("load: " + load());
        Path dir = Files.createTempDirectory("l0-compaction-bench");
        StorageConfig config = StorageConfig.DEFAULTS.withCheckpointDistanceBytes(1L << 40).withImageCreationThreshold(1)
                .withImageLayerKeys(16384).withCompactionThreshold(Math.max(2, layers)).withCompactionTargetBytes(target);
        Random r = new Random(42);
        try (LayerStore store = LayerStore.create(dir, TL, Lsn.of(0x1000000), config)) {
            long lsn = 0x1000000;
            long t0 = System.nanoTime();
            for (int p = 0; p < pages; p++) {
                lsn += 64;
                store.put(block(p), Lsn.of(lsn), new Value.Image(randomPage(r)));
            }
            store.freezeAndFlush();
            int images = store.compact(XOR_REDO).size(); // the base: an image of every page
            // The base's L0 layer is below the images now; GC would remove it. Delta layers above:
            for (int l = 0; l < layers; l++) {
                for (int u = 0; u < updates; u++) {
                    lsn += 64;
                    Value v = r.nextInt(100) < fpi ? new Value.Image(randomPage(r)) : new Value.WalRecord(randomBytes(r, 100), false);
                    store.put(block(r.nextInt(pages)), Lsn.of(lsn), v);
                }
                store.freezeAndFlush();
            }
            long loadMs = (System.nanoTime() - t0) / 1_000_000;
            List<DeltaLayer> l0 = store.layerMap().level0Deltas();
            double l0Mb = mb(l0); // before compaction deletes them
            System.out.printf("loaded in %d ms: %d image layers, %d L0 delta layers (%.1f MB, mean %.2f MB; the first, the base, "
                    + "lies below the images), last LSN %s%n", loadMs, images, l0.size(), l0Mb, l0Mb / l0.size(), Lsn.of(lsn));
            int[] keys = new int[sample];
            for (int i = 0; i < sample; i++) {
                keys[i] = r.nextInt(pages);
            }
            Lsn at = Lsn.of(lsn);
            read(store, keys, at); // warm-up: map the files
            Figures before = read(store, keys, at);

            long c0 = System.nanoTime();
            int passes = 0;
            while (passes < 100 && !store.compactLevel0().isEmpty()) {
                passes++;
            }
            long compactMs = (System.nanoTime() - c0) / 1_000_000;
            List<DeltaLayer> l1 = store.layerMap().deltas().stream().filter(d -> !d.isLevel0()).toList();
            System.out.printf("L0 -> L1 compaction: %d pass(es) in %d ms: %d L0 layers (%.1f MB) -> %d L1 layers (%.1f MB, mean %.2f MB); "
                            + "L0 left %d%n", passes, compactMs, l0.size(), l0Mb, l1.size(), mb(l1),
                    l1.isEmpty() ? 0 : mb(l1) / l1.size(), store.layerMap().level0Deltas().size());
            read(store, keys, at); // warm-up of the new files
            Figures after = read(store, keys, at);
            System.out.println();
            System.out.println("| per GetPage (" + sample + " random pages at the last LSN) | before (L0) | after (L1) |");
            System.out.println("|---|---|---|");
            System.out.printf("| layers visited, mean | %.2f | %.2f |%n", before.layersMean, after.layersMean);
            System.out.printf("| layers visited, p99 | %d | %d |%n", before.layersP99, after.layersP99);
            System.out.printf("| records replayed, mean | %.2f | %.2f |%n", before.recordsMean, after.recordsMean);
            System.out.printf("| records replayed, p99 | %d | %d |%n", before.recordsP99, after.recordsP99);
            System.out.printf("| latency p50 (us) | %.1f | %.1f |%n", before.p50us, after.p50us);
            System.out.printf("| latency p99 (us) | %.1f | %.1f |%n", before.p99us, after.p99us);
            System.out.printf("| layers a first read after an attach downloads (= visited), mean / p99 | %.2f / %d of %.2f MB each | %.2f / %d of %.2f MB each |%n",
                    before.layersMean, before.layersP99, l0Mb / l0.size(), after.layersMean, after.layersP99,
                    l1.isEmpty() ? 0 : mb(l1) / l1.size());
            System.out.println("load: " + load());
        } finally {
            Bench.freshDirectory(dir.toString());
            Files.deleteIfExists(dir);
        }
    }

    private record Figures(double layersMean, int layersP99, double recordsMean, int recordsP99, double p50us, double p99us) {
    }

    private static Figures read(LayerStore store, int[] keys, Lsn at) {
        int n = keys.length;
        int[] layers = new int[n];
        int[] records = new int[n];
        long[] nanos = new long[n];
        ReadAmplification amp = store.readAmplification();
        for (int i = 0; i < n; i++) {
            ReadAmplification.Totals t = amp.totals();
            long s = System.nanoTime();
            byte[] page = store.getValue(block(keys[i]), at, XOR_REDO);
            nanos[i] = System.nanoTime() - s;
            ReadAmplification.Totals u = amp.totals();
            if (page == null || page.length != PAGE) {
                throw new IllegalStateException("page " + keys[i] + " unreadable");
            }
            layers[i] = (int) (u.layersVisited() - t.layersVisited());
            records[i] = (int) (u.recordsReplayed() - t.recordsReplayed());
        }
        Arrays.sort(nanos);
        return new Figures(mean(layers), p99(layers), mean(records), p99(records), nanos[n / 2] / 1000.0,
                nanos[Math.min(n - 1, (int) (n * 0.99))] / 1000.0);
    }

    private static double mean(int[] v) {
        long s = 0;
        for (int x : v) {
            s += x;
        }
        return (double) s / v.length;
    }

    private static int p99(int[] v) {
        int[] c = v.clone();
        Arrays.sort(c);
        return c[Math.min(c.length - 1, (int) (c.length * 0.99))];
    }

    private static double mb(List<DeltaLayer> layers) {
        long b = 0;
        for (DeltaLayer d : layers) {
            b += d.handle().sizeBytes();
        }
        return b / 1e6;
    }

    private static Key block(int b) {
        return Key.relationBlock(1663, 5, 16384, 0, b);
    }

    private static byte[] randomPage(Random r) {
        byte[] p = new byte[PAGE];
        r.nextBytes(p);
        return p;
    }

    private static byte[] randomBytes(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    private static String load() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (java.io.IOException e) {
            return "?";
        }
    }
}
