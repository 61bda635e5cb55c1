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
import java.util.List;
import java.util.TreeSet;

/**
 * One compaction pass over a layer map snapshot: partitions the keys present in layer files
 * into ranges of at most {@link StorageConfig#imageLayerKeys()} keys and, for each range with
 * enough delta layers above its newest image, materialises every key at the disk-consistent
 * LSN into a new image layer file. Only file-backed layers are read; in-memory ones are newer.
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

    ImageCompactor(Path dir, TimelineId timelineId, StorageConfig config, LayerMap map, Lsn at, Redo redo, Fsync fsync,
                   LayerCache cache) {
        this.fsync = fsync;
        this.cache = cache;
        this.dir = dir;
        this.timelineId = timelineId;
        this.config = config;
        this.map = map;
        this.at = at;
        this.redo = redo;
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
        for (int from = 0; from < sorted.size(); from += per) {
            int to = Math.min(from + per, sorted.size());
            Key start = from == 0 ? Key.MIN : sorted.get(from);
            Key end = to == sorted.size() ? Key.MAX : sorted.get(to);
            KeyRange range = new KeyRange(start, end);
            if (deltasAboveNewestImage(range) >= config.imageCreationThreshold()) {
                try {
                    created.add(writeImage(range, sorted.subList(from, to)));
                } catch (RuntimeException e) {
                    // None of this run's images is listed yet: remove them all, keep nothing half done.
                    created.forEach(LayerStore::discard);
                    throw e;
                }
            }
        }
        return created;
    }

    /** Delta layers overlapping {@code range} that start above the newest image covering all of it. */
    private int deltasAboveNewestImage(KeyRange range) {
        long newestImage = -1;
        boolean haveImage = false;
        for (ImageLayer image : map.images()) {
            if (Long.compareUnsigned(image.lsnStart(), at.value()) > 0) {
                continue; // newer than the LSN this pass materialises (GC writes images below the newest)
            }
            if (image.keyRange().covers(range)
                    && (!haveImage || Long.compareUnsigned(image.lsnStart(), newestImage) > 0)) {
                newestImage = image.lsnStart();
                haveImage = true;
            }
        }
        if (haveImage && newestImage == at.value()) {
            return 0;
        }
        int count = 0;
        for (DeltaLayer d : map.deltas()) {
            if (Long.compareUnsigned(d.lsnEnd() - 1, at.value()) > 0) {
                continue; // reaches above this pass's LSN: an image here would not make it removable
            }
            if (d.keyRange().overlaps(range) && (!haveImage || Long.compareUnsigned(d.lsnStart(), newestImage) > 0)) {
                count++;
            }
        }
        return count;
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
