package dev.strata.pageserver.timeline;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.Value;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The latest value of each relation-size key of one timeline, so that GetPage (which checks the
 * fork's size before reading a block) does not search the layers for it every time. An entry
 * (since, value) says: at every LSN at or above {@code since} the key's value is {@code value}
 * (null = no value), until ingest replaces the entry.
 *
 * <p>Why it stays right: every write of a size key goes through {@link LayerStore#put}, which
 * replaces the entry (under the store's map lock, before the last record LSN moves past it),
 * so a reader that waited for LSN L and finds an entry with {@code since <= L} sees the value
 * the layers hold at L. A read at an LSN below {@code since} misses and searches the layers,
 * so older LSNs see older sizes. Truncation and drop are puts of a smaller size (0 for a drop)
 * and replace the entry like any other. A read fills a missing entry only if no size key was
 * put between the start of its search and the fill ({@link #putCount}), so a slow reader cannot
 * install a value that ingest has already superseded. Entries are never evicted: one per
 * relation fork the timeline has read or written (about 100 bytes each).
 *
 * <p>Misses (a fork with no size at the last record LSN: PostgreSQL asks about FSM and VM forks
 * that do not exist all the time, so they are worth caching) are the one kind of entry a caller
 * can create without ingest writing anything: any page-service client can ask about any
 * relation number. So at most {@link #MAX_MISSES} miss entries are kept; beyond that a miss is
 * answered from the layers and not cached. Hits are bounded by the relations WAL created.
 */
final class RelSizeCache {

    /** An entry; {@code value} null means the key has no value from {@code since} on. */
    record Entry(long since, byte[] value) {
    }

    /** Miss entries kept at most (about 100 bytes each: ~6.5 MB per timeline at the limit). */
    static final int MAX_MISSES = 65_536;

    private final ConcurrentHashMap<Key, Entry> entries = new ConcurrentHashMap<>();
    private final int maxMisses;
    /** Entries whose value is null (a miss); changed only under the store's map lock. */
    private int misses;

    RelSizeCache() {
        this(MAX_MISSES);
    }

    RelSizeCache(int maxMisses) {
        this.maxMisses = maxMisses;
    }
    /** Size-key puts so far; written only under the store's map lock. */
    private volatile long putCount;

    static boolean caches(Key key) {
        return key.field1() == 0 && key.field4() != 0 && key.field6() == Key.SIZE_MARKER;
    }

    /** The cached entry that answers for {@code lsn}, or null if the cache cannot answer for that LSN. */
    Entry lookup(Key key, long lsn) {
        Entry e = entries.get(key);
        return e != null && e.value != UNKNOWN && Long.compareUnsigned(e.since, lsn) <= 0 ? e : null;
    }

    /** Ingest put {@code value} at {@code lsn}; the caller holds the store's map lock. */
    void onPut(Key key, long lsn, Value value) {
        putCount++;
        // A record (not an image) would need redo to know the value: remember only that it changed.
        Entry old = entries.put(key, new Entry(lsn, value instanceof Value.Image i ? i.bytes() : UNKNOWN));
        if (old != null && old.value == null) {
            misses--;
        }
    }

    /**
     * Marks the start of a read whose result may be installed with {@link #fill}; read together
     * with the last record LSN under the map lock, so every counted put is at or below it.
     */
    long readStamp() {
        return putCount;
    }

    /**
     * Installs {@code value}, which the layers hold at every LSN from {@code since} up to the last
     * record LSN read after {@code stamp}, if no size key was put since {@code stamp} (then it is
     * the newest truth, whatever the entry held); the caller holds the map lock.
     */
    void fill(Key key, long since, byte[] value, long stamp) {
        if (putCount != stamp) {
            return;
        }
        Entry old = entries.get(key);
        // Never replace a newer version (cannot happen when the stamp is right; cheap to keep so).
        if (old != null && Long.compareUnsigned(old.since, since) > 0) {
            return;
        }
        boolean wasMiss = old != null && old.value == null;
        if (value == null && !wasMiss && misses >= maxMisses) {
            return; // at the bound: answered from the layers, not remembered
        }
        entries.put(key, new Entry(since, value));
        misses += (value == null ? 1 : 0) - (wasMiss ? 1 : 0);
    }

    int size() {
        return entries.size();
    }

    /** Miss entries held now. */
    int misses() {
        return misses;
    }

    /** Placeholder value: changed at {@code since}, value unknown; lookups treat it as a miss. */
    static final byte[] UNKNOWN = new byte[0];
}
