package dev.strata.pageserver.timeline;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.KeyRange;
import dev.strata.pageserver.layer.DeltaLayer;
import dev.strata.pageserver.layer.DeltaLayerWriter;
import dev.strata.pageserver.layer.LayerCache;
import dev.strata.pageserver.layer.LayerMap;
import dev.strata.pageserver.layer.LsnRange;
import dev.strata.pgcore.fs.Fsync;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;

/**
 * L0 -> L1 compaction (docs/pageserver.md, "Compaction"; decision 0033), after Neon's
 * {@code compact_level0}: the oldest run of L0 delta layers (written from memory, each covering
 * every key; contiguous in LSN) is merged into L1 delta layers holding exactly the same
 * (key, LSN, value) entries, re-cut by key: a new file starts at the first key boundary after
 * the current one reached {@link StorageConfig#compactionTargetBytes()}, and every L1 covers
 * the run's whole LSN range. A key's versions of the run stay in one file, so the L1 layers of
 * a run have disjoint key ranges, and a read of a key opens one of them instead of every L0.
 *
 * <p>Pure with respect to the store: it reads a layer map snapshot and writes new files; the
 * {@link LayerStore} lists them in the metadata and swaps the layer map. Nothing is dropped: GC
 * (which keeps branch points and the retention window) is what removes versions, never this.
 */
final class Level0Compactor {

    /** At most this many L0 layers merged in one pass, so a pass (on the flusher thread) stays bounded. */
    static final int MAX_LEVEL0_PER_PASS = 64;

    /** The L0 layers one pass merges and the LSN range their L1 layers cover. */
    record Plan(List<DeltaLayer> level0, LsnRange lsns) {
    }

    private final Path dir;
    private final TimelineId timelineId;
    private final StorageConfig config;
    private final Fsync fsync;
    private final LayerCache cache;

    Level0Compactor(Path dir, TimelineId timelineId, StorageConfig config, Fsync fsync, LayerCache cache) {
        this.dir = dir;
        this.timelineId = timelineId;
        this.config = config;
        this.fsync = fsync;
        this.cache = cache;
    }

    /**
     * What to merge: null while fewer than {@link StorageConfig#compactionThreshold()} L0 layers
     * exist; else the oldest L0 and those following it without an LSN gap (GC may have removed
     * some; a gap ends the run, the next pass starts after it), at most {@link #MAX_LEVEL0_PER_PASS}.
     * Null too if another delta reaches into the run's LSN range (never written so: L1 layers come
     * only from older L0 runs), because a read must never find two deltas holding one key over
     * overlapping LSN ranges.
     *
     * <p>A run never crosses a {@code boundary} (the GC cutoff, a child's branch point P): its L0
     * layers all end below P or all reach P. GC keeps a layer that reaches P (a read at P or above
     * needs it) and may remove one below P once images cover it; an L1 mixing the two would keep
     * both while P is kept (decision 0024 caps the cutoff at every branch point, so everything
     * above P is kept anyway). Image layers cut runs the same way, just above their LSN: GC removes
     * the deltas an image covers, and an L1 layer reaching above the image would keep them. So an
     * L1 layer is removable exactly when each L0 layer it replaced would have been (for the images,
     * branch points and cutoff known at compaction).
     */
    static Plan plan(LayerMap map, int threshold) {
        return plan(map, threshold, List.of());
    }

    static Plan plan(LayerMap map, int threshold, List<Lsn> boundaries) {
        List<DeltaLayer> level0 = map.level0Deltas();
        if (level0.size() < threshold) {
            return null;
        }
        // An image at X lets GC remove the deltas ending at or below X (once X is at or below the
        // cutoff and each read point); the deltas above it stay: X + 1 is a boundary like P.
        List<Lsn> cuts = new ArrayList<>(boundaries);
        map.images().forEach(i -> cuts.add(new Lsn(i.lsnStart() + 1)));
        List<DeltaLayer> run = new ArrayList<>();
        run.add(level0.getFirst());
        for (int i = 1; i < level0.size() && run.size() < MAX_LEVEL0_PER_PASS; i++) {
            if (level0.get(i).lsnStart() != run.getLast().lsnEnd() || crosses(run.getLast(), level0.get(i), cuts)) {
                break;
            }
            run.add(level0.get(i));
        }
        LsnRange lsns = new LsnRange(new Lsn(run.getFirst().lsnStart()), new Lsn(run.getLast().lsnEnd()));
        for (DeltaLayer d : map.deltas()) {
            if (!run.contains(d) && Long.compareUnsigned(d.lsnStart(), lsns.end().value()) < 0
                    && Long.compareUnsigned(lsns.start().value(), d.lsnEnd()) < 0) {
                return null;
            }
        }
        return new Plan(List.copyOf(run), lsns);
    }

    /** Whether some boundary P lies above {@code a}'s last LSN and at or below {@code b}'s. */
    private static boolean crosses(DeltaLayer a, DeltaLayer b, List<Lsn> boundaries) {
        for (Lsn p : boundaries) {
            if (Long.compareUnsigned(a.lsnEnd() - 1, p.value()) < 0 && Long.compareUnsigned(p.value(), b.lsnEnd() - 1) <= 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * Writes the L1 layers of {@code plan}: a k-way merge of the L0 layers by (key, LSN) (for one
     * key an older L0's versions all come before a newer one's, their LSN ranges being disjoint).
     * On failure every file this call wrote is removed and nothing is returned.
     */
    List<DeltaLayer> write(Plan plan) {
        List<DeltaLayer> written = new ArrayList<>();
        List<DeltaLayer.Cursor> cursors = new ArrayList<>();
        DeltaLayerWriter out = null;
        try {
            PriorityQueue<Head> heads = new PriorityQueue<>();
            for (int i = 0; i < plan.level0().size(); i++) {
                DeltaLayer.Cursor c = plan.level0().get(i).cursor();
                cursors.add(c);
                if (c.advance()) {
                    heads.add(new Head(c, i, c.key()));
                }
            }
            Key fileStart = null;
            Key lastKey = null;
            while (!heads.isEmpty()) {
                Head h = heads.poll();
                Key key = h.key;
                if (out != null && !key.equals(lastKey) && out.bytesWritten() >= config.compactionTargetBytes()) {
                    written.add(out.finish(new KeyRange(fileStart, key), cache));
                    out.close();
                    out = null;
                }
                if (out == null) {
                    fileStart = key;
                    out = new DeltaLayerWriter(dir, timelineId, new KeyRange(key, Key.MAX), plan.lsns(), fsync);
                }
                out.add(key, new Lsn(h.cursor.lsn()), h.cursor.value());
                lastKey = key;
                if (h.cursor.advance()) {
                    heads.add(new Head(h.cursor, h.order, h.cursor.key()));
                }
            }
            if (out != null) {
                written.add(out.finish(new KeyRange(fileStart, lastKey.next()), cache));
                out.close();
                out = null;
            }
            return written;
        } catch (RuntimeException e) {
            if (out != null) {
                try {
                    out.close(); // removes its temp file
                } catch (RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            written.forEach(LayerStore::discard);
            throw e;
        } finally {
            cursors.forEach(DeltaLayer.Cursor::close);
        }
    }

    /** A cursor's current key; ordered by key, then by its L0's age (older first). */
    private record Head(DeltaLayer.Cursor cursor, int order, Key key) implements Comparable<Head> {
        @Override
        public int compareTo(Head o) {
            int c = key.compareTo(o.key);
            return c != 0 ? c : Integer.compare(order, o.order);
        }
    }
}
