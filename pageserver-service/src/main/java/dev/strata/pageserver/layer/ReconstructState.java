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

    public void reset() {
        newestFirst.clear();
        base = null;
        complete = false;
    }

    /** Adds a value found below the ones added so far; returns true if it completes the state. */
    boolean add(Value value) {
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
    void completeWithoutBase() {
        complete = true;
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
