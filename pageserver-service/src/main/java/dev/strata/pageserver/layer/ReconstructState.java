package dev.strata.pageserver.layer;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What the layer map collected for one GetPage: the records above the base (newest first as
 * collected) and the base image, if any. Reusable: {@link #reset()} between lookups keeps the
 * list's capacity so a hot reader allocates little.
 */
public final class ReconstructState {

    private final ArrayList<Value.Record> newestFirst = new ArrayList<>();
    private byte[] base;
    private boolean complete;
    private long newestLsn;
    private int layersVisited;

    public void reset() {
        newestFirst.clear();
        base = null;
        complete = false;
        newestLsn = 0;
        layersVisited = 0;
    }

    /** Counts one layer searched for the key (its {@code collect} called). */
    void visited() {
        layersVisited++;
    }

    /**
     * Layers searched since {@link #reset()}: every layer (in memory, delta, image; of this
     * timeline and its ancestors) whose versions of the key were looked up. Read amplification.
     */
    public int layersVisited() {
        return layersVisited;
    }

    /** Records collected: what redo replays on top of the base. */
    public int recordCount() {
        return newestFirst.size();
    }

    /**
     * Adds a value found below the ones added so far, stored at {@code lsn} (an image layer's
     * LSN for its values); returns true if it completes the state.
     */
    boolean add(Value value, long lsn) {
        if (isEmpty()) {
            newestLsn = lsn;
        }
        switch (value) {
            case Value.Image image -> {
                base = image.bytes();
                complete = true;
            }
            case Value.Record record -> {
                newestFirst.add(record);
                complete = record.willInit();
            }
        }
        return complete;
    }

    /** Marks the state complete without a base: an image layer covers the key and does not hold it. */
    void completeWithoutBase(long imageLsn) {
        if (isEmpty()) {
            newestLsn = imageLsn;
        }
        complete = true;
    }

    /**
     * The LSN of the newest version found (an image layer's LSN if the value came from one, or if
     * it said the key has none); 0 if no layer knew the key. The value reconstructed at the
     * searched LSN holds unchanged at every LSN from this one up to the searched LSN.
     */
    public long newestLsn() {
        return newestLsn;
    }

    public boolean complete() {
        return complete;
    }

    /** The base image, or null. */
    public byte[] base() {
        return base;
    }

    public boolean hasRecords() {
        return !newestFirst.isEmpty();
    }

    /** True if nothing at all was found: the key has no value at the requested LSN. */
    public boolean isEmpty() {
        return base == null && newestFirst.isEmpty();
    }

    /** The oldest collected record (the first to apply). */
    public Value.Record oldestRecord() {
        return newestFirst.get(newestFirst.size() - 1);
    }

    /** The records in LSN order, as {@link Redo#apply} takes them. */
    public List<Value.Record> recordsOldestFirst() {
        List<Value.Record> copy = new ArrayList<>(newestFirst);
        Collections.reverse(copy);
        return copy;
    }
}
