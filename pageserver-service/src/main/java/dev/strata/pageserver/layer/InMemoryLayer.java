package dev.strata.pageserver.layer;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.KeyRange;
import dev.strata.pgcore.lsn.Lsn;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The newest WAL of a timeline, in memory: ingest puts (key, LSN, value) here for LSNs in
 * [start, end); it is frozen (no more puts) when it grows past a size or on request, then
 * written out as a {@link DeltaLayer}. One writer and many readers may use it at once:
 * each key's versions are an append-only array published through a volatile snapshot.
 */
public final class InMemoryLayer implements Layer {

    /** Per-value bookkeeping counted in {@link #size()} on top of the payload. */
    static final int ENTRY_OVERHEAD = Key.BYTES + 8 + LayerFormat.VALUE_OVERHEAD + LayerFormat.ENTRY_SIZE;

    private final long start;
    private final ConcurrentSkipListMap<Key, Versions> keys = new ConcurrentSkipListMap<>();
    private volatile long end = -1L;
    private volatile long size;
    private long lastLsn;
    private long entries;

    public InMemoryLayer(Lsn start) {
        this.start = start.value();
        this.lastLsn = start.value();
    }

    /**
     * Adds a version. LSNs must not go backwards across puts and must strictly increase per
     * key (one value per key per WAL record); writer thread only.
     */
    public void put(Key key, Lsn lsn, Value value) {
        long l = lsn.value();
        if (end != -1L) {
            throw new IllegalStateException("in-memory layer " + this + " is frozen; put of " + key.describe()
                    + " at " + lsn + " refused");
        }
        if (Long.compareUnsigned(l, start) < 0 || Long.compareUnsigned(l, lastLsn) < 0) {
            throw new IllegalArgumentException("put of " + key.describe() + " at " + lsn + " goes back: layer starts at "
                    + new Lsn(start) + ", last put at " + new Lsn(lastLsn));
        }
        Versions v = keys.get(key);
        if (v != null && Long.compareUnsigned(l, v.lsns[v.count - 1]) <= 0) {
            throw new IllegalArgumentException("key " + key.describe() + " already has a value at "
                    + new Lsn(v.lsns[v.count - 1]) + "; put at " + lsn + " must be later");
        }
        keys.put(key, Versions.append(v, l, value));
        lastLsn = l;
        entries++;
        size = size + ENTRY_OVERHEAD + ValueCodec.payload(value).length;
    }

    /** Stops puts; the layer then covers [start, end). {@code end} must be above every put LSN. */
    public void freeze(Lsn endExclusive) {
        long e = endExclusive.value();
        if (end != -1L) {
            throw new IllegalStateException("in-memory layer " + this + " is already frozen");
        }
        if (Long.compareUnsigned(e, start) <= 0 || (entries > 0 && Long.compareUnsigned(e, lastLsn) <= 0)) {
            throw new IllegalArgumentException("cannot freeze in-memory layer starting at " + new Lsn(start) + " with last put at "
                    + new Lsn(lastLsn) + " at end " + endExclusive);
        }
        end = e;
    }

    public boolean isFrozen() {
        return end != -1L;
    }

    /** Approximate bytes this layer will take as a delta file. */
    public long size() {
        return size;
    }

    public boolean isEmpty() {
        return keys.isEmpty();
    }

    @Override
    public KeyRange keyRange() {
        return KeyRange.ALL;
    }

    @Override
    public long lsnStart() {
        return start;
    }

    @Override
    public long lsnEnd() {
        return end;
    }

    /** The LSN range after freezing. */
    public LsnRange lsnRange() {
        if (end == -1L) {
            throw new IllegalStateException("in-memory layer starting at " + new Lsn(start) + " is not frozen");
        }
        return new LsnRange(new Lsn(start), new Lsn(end));
    }

    @Override
    public boolean collect(Key key, long floor, long ceiling, ReconstructState state) {
        Versions v = keys.get(key);
        if (v == null) {
            return false;
        }
        long[] lsns = v.lsns;
        Value[] values = v.values;
        for (int i = v.count - 1; i >= 0; i--) {
            long l = lsns[i];
            if (Long.compareUnsigned(l, ceiling) >= 0) {
                continue;
            }
            if (Long.compareUnsigned(l, floor) < 0) {
                return false;
            }
            if (state.add(values[i], l)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Calls {@code visitor} for every entry with a key in {@code range} and an LSN in
     * [{@code lsnFrom}, {@code lsnTo}), in (key, LSN) order. Safe while the writer puts: each
     * key's versions are those published when the walk reaches it.
     */
    public void walkKeys(KeyRange range, long lsnFrom, long lsnTo, KeyLsnVisitor visitor) {
        if (Long.compareUnsigned(lsnTo, start) <= 0 || (end != -1L && Long.compareUnsigned(lsnFrom, end) >= 0)) {
            return;
        }
        for (Map.Entry<Key, Versions> e : keys.subMap(range.start(), true, range.end(), false).entrySet()) {
            Versions v = e.getValue();
            for (int i = 0; i < v.count; i++) {
                long l = v.lsns[i];
                if (Long.compareUnsigned(l, lsnFrom) >= 0 && Long.compareUnsigned(l, lsnTo) < 0) {
                    Value value = v.values[i];
                    visitor.visit(e.getKey(), l, () -> value);
                }
            }
        }
    }

    /** Every entry in (key, LSN) order; for flushing a frozen layer. */
    public void forEachEntry(EntryConsumer action) {
        for (Map.Entry<Key, Versions> e : keys.entrySet()) {
            Versions v = e.getValue();
            for (int i = 0; i < v.count; i++) {
                action.accept(e.getKey(), new Lsn(v.lsns[i]), v.values[i]);
            }
        }
    }

    @Override
    public String toString() {
        return "in-memory [" + new Lsn(start) + ", " + (end == -1L ? "open" : new Lsn(end)) + ")";
    }

    /**
     * An immutable view of one key's versions. Appends write the next array slot and then
     * publish a new view with a larger count; readers of an older view never look past its
     * count, so sharing the arrays is safe.
     */
    private static final class Versions {
        final long[] lsns;
        final Value[] values;
        final int count;

        private Versions(long[] lsns, Value[] values, int count) {
            this.lsns = lsns;
            this.values = values;
            this.count = count;
        }

        static Versions append(Versions old, long lsn, Value value) {
            if (old == null) {
                long[] l = new long[2];
                Value[] v = new Value[2];
                l[0] = lsn;
                v[0] = value;
                return new Versions(l, v, 1);
            }
            long[] l = old.lsns;
            Value[] v = old.values;
            if (old.count == l.length) {
                l = java.util.Arrays.copyOf(l, l.length * 2);
                v = java.util.Arrays.copyOf(v, v.length * 2);
            }
            l[old.count] = lsn;
            v[old.count] = value;
            return new Versions(l, v, old.count + 1);
        }
    }
}
