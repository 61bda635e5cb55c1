package dev.strata.pageserver.timeline;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.KeyRange;
import dev.strata.pageserver.layer.DeltaLayer;
import dev.strata.pageserver.layer.ImageLayer;
import dev.strata.pageserver.layer.ImageLayerWriter;
import dev.strata.pageserver.layer.LayerCache;
import dev.strata.pgcore.fs.Fsync;
import dev.strata.pageserver.layer.LayerMap;
import dev.strata.pageserver.layer.ReconstructState;
import dev.strata.pageserver.layer.Redo;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * One compaction pass over a layer map snapshot: partitions the keys present in layer files
 * into ranges of at most {@link StorageConfig#imageLayerKeys()} keys and, for each range where
 * enough delta layers hold versions of its keys above the image coverage, materialises every
 * key at the disk-consistent LSN into a new image layer file. Only file-backed layers are read;
 * in-memory ones are newer.
 *
 * <p>Two rules keep a pass from rewriting history that did not change (before them every pass
 * rewrote every range: a delta layer spans all keys, so each one "overlapped" each range, and
 * the ranges move with the key set, so no earlier image "covered" a new range exactly; the
 * regression suite uploaded about 4x its WAL in layers):
 * <ul>
 *   <li>a delta counts for a range only if it holds a version of a key in that range, unless
 *       {@code countEveryOverlap} (GC at a cutoff: its deltas become removable only where images
 *       cover their whole key range, {@link GcPlanner});
 *   <li>the image coverage of a range is the LSN down to which images, together, cover all of
 *       it: the newest image of each part of the range, the oldest of those (so ranges cut at
 *       other boundaries than the images they are covered by still see them).
 * </ul>
 * A range still gets an image once {@link #DELTAS_READ_THROUGH_FACTOR} times the threshold of
 * deltas lie above its coverage, whatever they hold: every read of it passes through them.
 */
final class ImageCompactor {

    private final Path dir;
    private final TimelineId timelineId;
    private final StorageConfig config;
    private final LayerMap map;
    private final Lsn at;
    private final Redo redo;
    private final Fsync fsync;
    private final LayerCache cache;
    private final boolean countEveryOverlap;
    /** Deltas above a range's image that a read passes through, in units of the creation threshold. */
    static final int DELTAS_READ_THROUGH_FACTOR = 8;

    ImageCompactor(Path dir, TimelineId timelineId, StorageConfig config, LayerMap map, Lsn at, Redo redo, Fsync fsync,
                   LayerCache cache, boolean countEveryOverlap) {
        this.fsync = fsync;
        this.cache = cache;
        this.dir = dir;
        this.timelineId = timelineId;
        this.config = config;
        this.map = map;
        this.at = at;
        this.redo = redo;
        this.countEveryOverlap = countEveryOverlap;
    }

    List<ImageLayer> run() {
        List<ImageLayer> created = new ArrayList<>();
        if (map.deltas().isEmpty()) {
            return created;
        }
        TreeSet<Key> keys = new TreeSet<>();
        map.deltas().forEach(d -> d.forEachKey(keys::add));
        map.images().forEach(i -> i.forEachKey(keys::add));
        List<Key> sorted = new ArrayList<>(keys);
        int per = config.imageLayerKeys();
        List<KeyRange> ranges = new ArrayList<>();
        for (int from = 0; from < sorted.size(); from += per) {
            int to = Math.min(from + per, sorted.size());
            ranges.add(new KeyRange(from == 0 ? Key.MIN : sorted.get(from),
                    to == sorted.size() ? Key.MAX : sorted.get(to)));
        }
        Map<DeltaLayer, BitSet> touched = countEveryOverlap ? Map.of() : rangesWithVersions(ranges);
        for (int r = 0; r < ranges.size(); r++) {
            KeyRange range = ranges.get(r);
            if (deltasAboveImageCoverage(range, r, touched) >= config.imageCreationThreshold()) {
                try {
                    created.add(writeImage(range, sorted.subList(r * per, Math.min((r + 1) * per, sorted.size()))));
                } catch (RuntimeException e) {
                    // None of this run's images is listed yet: remove them all, keep nothing half done.
                    created.forEach(LayerStore::discard);
                    throw e;
                }
            }
        }
        return created;
    }

    /** For each delta at or below this pass's LSN, the indexes of the ranges it holds a key of. */
    private Map<DeltaLayer, BitSet> rangesWithVersions(List<KeyRange> ranges) {
        Map<DeltaLayer, BitSet> out = new IdentityHashMap<>();
        for (DeltaLayer d : map.deltas()) {
            if (Long.compareUnsigned(d.lsnEnd() - 1, at.value()) > 0) {
                continue;
            }
            BitSet bits = new BitSet(ranges.size());
            int[] r = {0};
            d.forEachKey(key -> { // keys come in order: the range index only moves forward
                while (r[0] + 1 < ranges.size() && !ranges.get(r[0]).contains(key)) {
                    r[0]++;
                }
                bits.set(r[0]);
            });
            out.put(d, bits);
        }
        return out;
    }

    /**
     * Delta layers at or below this pass's LSN that hold versions for {@code range} (index
     * {@code r}) and start above its image coverage; 0 if the images cover it at this LSN.
     */
    private int deltasAboveImageCoverage(KeyRange range, int r, Map<DeltaLayer, BitSet> touched) {
        java.util.OptionalLong coverage = imageCoverage(range);
        if (coverage.isPresent() && coverage.getAsLong() == at.value()) {
            return 0;
        }
        int holding = 0;
        int overlapping = 0;
        for (DeltaLayer d : map.deltas()) {
            if (Long.compareUnsigned(d.lsnEnd() - 1, at.value()) > 0) {
                continue; // reaches above this pass's LSN: an image here would not make it removable
            }
            if (!d.keyRange().overlaps(range)
                    || coverage.isPresent() && Long.compareUnsigned(d.lsnStart(), coverage.getAsLong()) <= 0) {
                continue;
            }
            overlapping++;
            if (countEveryOverlap || touched.get(d).get(r)) {
                holding++;
            }
        }
        // A read of any key of the range opens every delta above its image, holding the key or
        // not (a layer evicted to S3 is downloaded to find that out): past a bound, an image
        // anyway, so untouched ranges are rewritten once per that many deltas, not every pass.
        return overlapping >= config.imageCreationThreshold() * DELTAS_READ_THROUGH_FACTOR
                ? Math.max(holding, config.imageCreationThreshold()) : holding;
    }

    /**
     * The LSN down to which image layers at or below this pass's LSN cover all of {@code range}:
     * images are taken newest first until their key ranges together cover it, and the last one
     * taken (the oldest needed) gives the LSN. Empty if they never do.
     */
    java.util.OptionalLong imageCoverage(KeyRange range) {
        List<ImageLayer> images = new ArrayList<>();
        for (ImageLayer image : map.images()) {
            if (Long.compareUnsigned(image.lsnStart(), at.value()) <= 0 && image.keyRange().overlaps(range)) {
                images.add(image);
            }
        }
        images.sort((a, b) -> Long.compareUnsigned(b.lsnStart(), a.lsnStart()));
        List<KeyRange> uncovered = new ArrayList<>(List.of(range));
        for (ImageLayer image : images) {
            uncovered = subtract(uncovered, image.keyRange());
            if (uncovered.isEmpty()) {
                return java.util.OptionalLong.of(image.lsnStart());
            }
        }
        return java.util.OptionalLong.empty();
    }

    /** {@code pieces} without the keys of {@code cut}. */
    private static List<KeyRange> subtract(List<KeyRange> pieces, KeyRange cut) {
        List<KeyRange> out = new ArrayList<>();
        for (KeyRange p : pieces) {
            if (!p.overlaps(cut)) {
                out.add(p);
                continue;
            }
            if (p.start().compareTo(cut.start()) < 0) {
                out.add(new KeyRange(p.start(), cut.start()));
            }
            if (cut.end().compareTo(p.end()) < 0) {
                out.add(new KeyRange(cut.end(), p.end()));
            }
        }
        return out;
    }

    private ImageLayer writeImage(KeyRange range, List<Key> keys) {
        ReconstructState state = new ReconstructState();
        try (ImageLayerWriter w = new ImageLayerWriter(dir, timelineId, range, at, fsync)) {
            for (Key key : keys) {
                state.reset();
                map.search(key, at.value(), state);
                byte[] value = LayerStore.reconstruct(timelineId, key, at, state, redo);
                if (value != null) {
                    w.add(key, value);
                }
            }
            return w.finish(cache);
        }
    }
}
