package dev.strata.pageserver.layer;

import dev.strata.pageserver.key.Key;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The layers of one timeline, as an immutable snapshot: the open in-memory layer, frozen
 * in-memory layers waiting to be flushed, delta layer files and image layer files. The layer
 * store swaps in a new snapshot when layers change; readers search whichever snapshot they hold.
 *
 * <p>{@link #search} answers GetPage@LSN: it walks from the requested LSN downwards, at each
 * step taking the newest layer that covers the key below the current ceiling; an image layer
 * ends the walk, a delta layer contributes the key's records and lowers the ceiling to its start.
 * Each step finds its layers by binary search over LSN-sorted arrays built with the snapshot.
 */
public final class LayerMap {

    private final InMemoryLayer open;
    private final List<InMemoryLayer> frozen;
    private final List<DeltaLayer> deltas;
    private final List<ImageLayer> images;
    /**
     * Search index, built once per snapshot: the delta-like layers (open, frozen, delta files) and
     * the image layers, each sorted by start LSN, newest first (ties: the one the lists name last
     * first, as the linear scan chose). A step of {@link #search} binary searches the first layer
     * starting below its ceiling and scans on only past layers that do not cover the key, instead
     * of looking at every layer of the timeline.
     *
     * <p>Delta-like layers that start at the same LSN form one {@link Run}. The L1 layers one L0
     * compaction wrote share their LSN range and have disjoint key ranges: such a run is searched
     * by key (binary search over the key range starts), so a step looks at the one L1 layer whose
     * key range holds the key, not at each of the run.
     */
    private final Run[] runs;
    private final long[] runStarts;
    private final ImageLayer[] imageIndex;
    private final long[] imageStarts;

    public LayerMap(InMemoryLayer open, List<InMemoryLayer> frozen, List<DeltaLayer> deltas, List<ImageLayer> images) {
        this.open = open;
        this.frozen = List.copyOf(frozen);
        this.deltas = List.copyOf(deltas);
        this.images = List.copyOf(images);
        List<Layer> d = new ArrayList<>();
        if (open != null) {
            d.add(open);
        }
        for (int i = this.frozen.size() - 1; i >= 0; i--) {
            d.add(this.frozen.get(i));
        }
        for (int i = this.deltas.size() - 1; i >= 0; i--) {
            d.add(this.deltas.get(i));
        }
        d.sort((a, b) -> Long.compareUnsigned(b.lsnStart(), a.lsnStart())); // stable: ties keep the order above
        List<Run> r = new ArrayList<>();
        for (int from = 0; from < d.size(); ) {
            int to = from + 1;
            while (to < d.size() && d.get(to).lsnStart() == d.get(from).lsnStart()) {
                to++;
            }
            r.add(Run.of(d.subList(from, to)));
            from = to;
        }
        this.runs = r.toArray(new Run[0]);
        this.runStarts = new long[runs.length];
        for (int i = 0; i < runs.length; i++) {
            runStarts[i] = runs[i].start();
        }
        List<ImageLayer> im = new ArrayList<>(this.images);
        Collections.reverse(im);
        im.sort((a, b) -> Long.compareUnsigned(b.lsnStart(), a.lsnStart()));
        this.imageIndex = im.toArray(new ImageLayer[0]);
        this.imageStarts = starts(imageIndex);
    }

    private static long[] starts(Layer[] layers) {
        long[] s = new long[layers.length];
        for (int i = 0; i < layers.length; i++) {
            s[i] = layers[i].lsnStart();
        }
        return s;
    }

    public static LayerMap empty() {
        return new LayerMap(null, List.of(), List.of(), List.of());
    }

    /** The open in-memory layer, or null. */
    public InMemoryLayer open() {
        return open;
    }

    /** Frozen in-memory layers, oldest first. */
    public List<InMemoryLayer> frozen() {
        return frozen;
    }

    public List<DeltaLayer> deltas() {
        return deltas;
    }

    public List<ImageLayer> images() {
        return images;
    }

    public LayerMap withOpen(InMemoryLayer layer) {
        return new LayerMap(layer, frozen, deltas, images);
    }

    /** Freezes the open layer into the frozen list (the caller has called {@link InMemoryLayer#freeze}). */
    public LayerMap withOpenFrozen(InMemoryLayer next) {
        List<InMemoryLayer> f = new ArrayList<>(frozen);
        f.add(open);
        return new LayerMap(next, f, deltas, images);
    }

    /** Replaces the oldest frozen layer by the delta file written from it. */
    public LayerMap withFlushed(InMemoryLayer flushed, DeltaLayer written) {
        if (frozen.isEmpty() || frozen.get(0) != flushed) {
            throw new IllegalStateException("only the oldest frozen layer can be flushed, got " + flushed);
        }
        List<DeltaLayer> d = new ArrayList<>(deltas);
        if (written != null) {
            d.add(written);
        }
        return new LayerMap(open, frozen.subList(1, frozen.size()), d, images);
    }

    /**
     * Without the delta files named in {@code removed} and with {@code added} (L0 compaction:
     * the L1 layers written from those L0 layers); deltas stay in start-LSN order.
     */
    public LayerMap withCompacted(java.util.Set<LayerName> removed, List<DeltaLayer> added) {
        List<DeltaLayer> d = new ArrayList<>();
        for (DeltaLayer l : deltas) {
            if (!removed.contains(l.name())) {
                d.add(l);
            }
        }
        d.addAll(added);
        d.sort((a, b) -> Long.compareUnsigned(a.lsnStart(), b.lsnStart())); // stable
        return new LayerMap(open, frozen, d, images);
    }

    /** The L0 delta files (covering every key, written from memory), oldest first. */
    public List<DeltaLayer> level0Deltas() {
        List<DeltaLayer> out = new ArrayList<>();
        for (DeltaLayer l : deltas) {
            if (l.isLevel0()) {
                out.add(l);
            }
        }
        out.sort((a, b) -> Long.compareUnsigned(a.lsnStart(), b.lsnStart()));
        return out;
    }

    public LayerMap withImage(ImageLayer image) {
        List<ImageLayer> i = new ArrayList<>(images);
        i.add(image);
        return new LayerMap(open, frozen, deltas, i);
    }

    /** Without the file-backed layers named in {@code names} (GC). */
    public LayerMap without(java.util.Set<LayerName> names) {
        List<DeltaLayer> d = new ArrayList<>();
        for (DeltaLayer l : deltas) {
            if (!names.contains(l.name())) {
                d.add(l);
            }
        }
        List<ImageLayer> i = new ArrayList<>();
        for (ImageLayer l : images) {
            if (!names.contains(l.name())) {
                i.add(l);
            }
        }
        return new LayerMap(open, frozen, d, i);
    }

    /** Every file-backed layer's name, sorted; what the metadata file lists. */
    public List<LayerName> persistentNames() {
        List<LayerName> names = new ArrayList<>();
        deltas.forEach(d -> names.add(d.name()));
        images.forEach(i -> names.add(i.name()));
        Collections.sort(names);
        return names;
    }

    /**
     * Collects into {@code state} what reconstructing {@code key} at {@code lsn} needs: the
     * newest image at or below {@code lsn} (if any) and the records above it, newest first,
     * stopping at a will-init record.
     */
    public void search(Key key, long lsn, ReconstructState state) {
        if (lsn == -1L) {
            throw new IllegalArgumentException("LSN FFFFFFFF/FFFFFFFF cannot be read at");
        }
        long ceiling = lsn + 1;
        // Every step lowers the ceiling, and there are finitely many layers; this bounds the loop.
        while (true) {
            Layer delta = newestDeltaBelow(key, ceiling);
            ImageLayer image = newestImageBelow(key, ceiling);
            if (delta == null && image == null) {
                return;
            }
            if (image != null && (delta == null
                    || Long.compareUnsigned(image.lsnStart(), minUnsigned(delta.lsnEnd(), ceiling) - 1) >= 0)) {
                state.visited();
                image.collect(key, image.lsnStart(), ceiling, state);
                return;
            }
            long floor = delta.lsnStart();
            if (image != null && Long.compareUnsigned(image.lsnStart() + 1, floor) > 0) {
                floor = image.lsnStart() + 1;
            }
            state.visited();
            if (delta.collect(key, floor, ceiling, state)) {
                return;
            }
            ceiling = floor;
        }
    }

    /** Among in-memory and delta layers covering key and starting below ceiling, the one starting last. */
    private Layer newestDeltaBelow(Key key, long ceiling) {
        for (int i = firstBelow(runStarts, ceiling); i < runs.length; i++) {
            Layer l = runs[i].find(key);
            if (l != null) {
                return l;
            }
        }
        return null;
    }

    /**
     * The delta-like layers starting at one LSN, in search order. When they are delta files with
     * pairwise disjoint key ranges (the L1 layers of one compaction), {@code keyStarts} holds
     * their key range starts in order and {@link #find} binary searches it; otherwise (an L0, an
     * in-memory layer: usually alone at its LSN) it scans them.
     */
    private record Run(long start, Layer[] layers, Key[] keyStarts) {

        static Run of(List<Layer> same) {
            Layer[] layers = same.toArray(new Layer[0]);
            long start = layers[0].lsnStart();
            if (layers.length < 2) {
                return new Run(start, layers, null);
            }
            Layer[] byKey = layers.clone();
            java.util.Arrays.sort(byKey, (a, b) -> a.keyRange().start().compareTo(b.keyRange().start()));
            for (int i = 0; i < byKey.length; i++) {
                if (!(byKey[i] instanceof DeltaLayer)
                        || i > 0 && byKey[i - 1].keyRange().end().compareTo(byKey[i].keyRange().start()) > 0) {
                    return new Run(start, layers, null); // overlapping key ranges: keep the scan order
                }
            }
            Key[] keyStarts = new Key[byKey.length];
            for (int i = 0; i < byKey.length; i++) {
                keyStarts[i] = byKey[i].keyRange().start();
            }
            return new Run(start, byKey, keyStarts);
        }

        Layer find(Key key) {
            if (keyStarts == null) {
                for (Layer l : layers) {
                    if (l instanceof InMemoryLayer || l.keyRange().contains(key)) {
                        return l;
                    }
                }
                return null;
            }
            int lo = 0;
            int hi = keyStarts.length; // the last start <= key is at lo - 1
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (keyStarts[mid].compareTo(key) <= 0) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            if (lo == 0) {
                return null;
            }
            Layer l = layers[lo - 1];
            return l.keyRange().contains(key) ? l : null;
        }
    }

    private ImageLayer newestImageBelow(Key key, long ceiling) {
        for (int i = firstBelow(imageStarts, ceiling); i < imageIndex.length; i++) {
            ImageLayer img = imageIndex[i];
            if (img.keyRange().contains(key)) {
                return img;
            }
        }
        return null;
    }

    /** In {@code starts} (descending, unsigned), the index of the first start below {@code ceiling}. */
    private static int firstBelow(long[] starts, long ceiling) {
        int lo = 0;
        int hi = starts.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(starts[mid], ceiling) < 0) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }

    private static long minUnsigned(long a, long b) {
        return Long.compareUnsigned(a, b) <= 0 ? a : b;
    }
}
