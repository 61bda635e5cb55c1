package dev.strata.pageserver.timeline;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.KeyRange;
import dev.strata.pageserver.layer.DeltaLayer;
import dev.strata.pageserver.layer.ImageLayer;
import dev.strata.pageserver.layer.Layer;
import dev.strata.pageserver.layer.LayerMap;
import dev.strata.pageserver.layer.LayerName;
import dev.strata.pgcore.lsn.Lsn;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which layer files GC may remove (docs/pageserver.md, "GC and retention"; decision 0024). Reads
 * happen at every LSN at or above the cutoff and at each retained LSN (a child's branch point).
 * A layer file L is removable when everything it holds is below the cutoff and, for each of those
 * read points P that L could contribute to ({@code L.start <= P}), image layers other than L
 * whose LSN lies in {@code [L.last, P]} (strictly above {@code L}'s LSN for an image) cover all of
 * L's key range: a read at P (or above the cutoff) then stops at those images before it reaches L.
 * Pure: no I/O, a function of one layer map snapshot.
 */
final class GcPlanner {

    private GcPlanner() {
    }

    /** The names of the layer files of {@code map} that no read at or above {@code cutoff}, or at a {@code retain} LSN, needs. */
    static Set<LayerName> removable(LayerMap map, Lsn cutoff, List<Lsn> retain) {
        Set<LayerName> out = new TreeSet<>();
        if (!cutoff.isValid()) {
            return out;
        }
        List<Long> points = new ArrayList<>();
        points.add(cutoff.value());
        for (Lsn r : retain) {
            points.add(r.value());
        }
        List<Layer> files = new ArrayList<>(map.deltas());
        files.addAll(map.images());
        for (Layer l : files) {
            long last = l.lsnEnd() - 1;
            if (Long.compareUnsigned(last, cutoff.value()) >= 0) {
                continue; // holds something at or above the cutoff
            }
            boolean needed = false;
            for (long p : points) {
                if (Long.compareUnsigned(l.lsnStart(), p) > 0) {
                    continue; // a read at p never reaches a layer that starts above it
                }
                if (!coveredByImages(map, l, last, p)) {
                    needed = true;
                    break;
                }
            }
            if (!needed) {
                out.add(name(l));
            }
        }
        return out;
    }

    /** Whether images other than {@code l}, at LSNs in [last, p] (above last for an image), cover its key range. */
    private static boolean coveredByImages(LayerMap map, Layer l, long last, long p) {
        boolean image = l instanceof ImageLayer;
        List<KeyRange> ranges = new ArrayList<>();
        for (ImageLayer i : map.images()) {
            if (i == l) {
                continue;
            }
            long at = i.lsnStart();
            boolean newEnough = image ? Long.compareUnsigned(at, last) > 0 : Long.compareUnsigned(at, last) >= 0;
            if (newEnough && Long.compareUnsigned(at, p) <= 0 && i.keyRange().overlaps(l.keyRange())) {
                ranges.add(i.keyRange());
            }
        }
        return covers(ranges, l.keyRange());
    }

    /** Whether the union of {@code ranges} covers {@code target} (half-open key ranges). */
    static boolean covers(List<KeyRange> ranges, KeyRange target) {
        List<KeyRange> sorted = new ArrayList<>(ranges);
        sorted.sort(Comparator.comparing(KeyRange::start));
        Key reached = target.start();
        for (KeyRange r : sorted) {
            if (r.start().compareTo(reached) > 0) {
                return false; // a gap before this range
            }
            if (r.end().compareTo(reached) > 0) {
                reached = r.end();
            }
            if (reached.compareTo(target.end()) >= 0) {
                return true;
            }
        }
        return reached.compareTo(target.end()) >= 0;
    }

    private static LayerName name(Layer l) {
        return l instanceof DeltaLayer d ? d.name() : ((ImageLayer) l).name();
    }
}
