package dev.strata.pageserver.layer;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.KeyRange;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * An immutable delta layer file: every version of the keys in its key range whose LSN lies
 * in its LSN range, sorted by key then LSN. Written by {@link DeltaLayerWriter} when the
 * layer store flushes a frozen in-memory layer; read by GetPage through the layer map.
 */
public final class DeltaLayer implements Layer, AutoCloseable {

    private final LayerFileHandle handle;

    private DeltaLayer(LayerFileHandle handle) {
        this.handle = handle;
    }

    /** Opens and verifies a delta layer file of {@code timeline}. */
    public static DeltaLayer open(Path path, TimelineId timeline) {
        return open(path, timeline, null);
    }

    /** Opens and verifies a delta layer file of {@code timeline}, counted in {@code cache} (may be null). */
    public static DeltaLayer open(Path path, TimelineId timeline, LayerCache cache) {
        LayerFile f = LayerFile.open(path, timeline);
        if (f.name().image()) {
            f.close();
            throw new CorruptLayerException(path, 6, "is an image layer, expected a delta layer");
        }
        return new DeltaLayer(LayerFileHandle.local(f, cache));
    }

    /**
     * A delta layer that is only in object storage: downloaded to {@code path} by the first read
     * that needs it (and verified then, as {@link #open} does).
     */
    public static DeltaLayer remote(Path path, LayerName name, TimelineId timeline, LayerFileHandle.Download download,
                                    LayerCache cache) {
        if (name.image()) {
            throw new IllegalArgumentException(name + " is an image layer, expected a delta layer");
        }
        return new DeltaLayer(LayerFileHandle.remote(path, name, timeline, download, cache));
    }

    public LayerName name() {
        return handle.name();
    }

    public Path path() {
        return handle.path();
    }

    /** The file's residence (local or only remote); what the layer cache and the uploader manage. */
    public LayerFileHandle handle() {
        return handle;
    }

    public long entryCount() {
        LayerFile file = handle.acquire();
        try {
            return file.entryCount();
        } finally {
            handle.release();
        }
    }

    @Override
    public KeyRange keyRange() {
        return handle.name().keyRange();
    }

    @Override
    public long lsnStart() {
        return handle.name().lsnRange().start().value();
    }

    @Override
    public long lsnEnd() {
        return handle.name().lsnRange().end().value();
    }

    @Override
    public boolean collect(Key key, long floor, long ceiling, ReconstructState state) {
        LayerFile file = handle.acquire();
        try {
            long i = file.lastBefore(key, ceiling);
            while (i >= 0 && file.keyEquals(i, key) && Long.compareUnsigned(file.lsn(i), floor) >= 0) {
                if (state.add(file.value(i), file.lsn(i))) {
                    return true;
                }
                i--;
            }
            return false;
        } finally {
            handle.release();
        }
    }

    /** Calls {@code action} once per distinct key, in key order. */
    public void forEachKey(Consumer<Key> action) {
        LayerFile file = handle.acquire();
        try {
            Key last = null;
            for (long i = 0; i < file.entryCount(); i++) {
                if (last == null || !file.keyEquals(i, last)) {
                    last = file.key(i);
                    action.accept(last);
                }
            }
        } finally {
            handle.release();
        }
    }

    /**
     * Calls {@code visitor} for every entry with a key in {@code keys} and an LSN in
     * [{@code lsnFrom}, {@code lsnTo}), in (key, LSN) order. Reads the index only: an entry's
     * key is decoded only when its LSN is in range, its value only when the visitor asks.
     */
    public void walkKeys(KeyRange keys, long lsnFrom, long lsnTo, KeyLsnVisitor visitor) {
        if (!keys.overlaps(keyRange()) || Long.compareUnsigned(lsnFrom, lsnEnd()) >= 0
                || Long.compareUnsigned(lsnTo, lsnStart()) <= 0) {
            return;
        }
        LayerFile file = handle.acquire();
        try {
            long count = file.entryCount();
            for (long i = file.lastBefore(keys.start(), 0) + 1; i < count && file.keyBelow(i, keys.end()); i++) {
                long lsn = file.lsn(i);
                if (Long.compareUnsigned(lsn, lsnFrom) >= 0 && Long.compareUnsigned(lsn, lsnTo) < 0) {
                    long at = i;
                    visitor.visit(file.key(i), lsn, () -> file.value(at));
                }
            }
        } finally {
            handle.release();
        }
    }

    /** Calls {@code action} for every entry in (key, LSN) order, reading and verifying each value. */
    public void forEachEntry(EntryConsumer action) {
        LayerFile file = handle.acquire();
        try {
            for (long i = 0; i < file.entryCount(); i++) {
                action.accept(file.key(i), new Lsn(file.lsn(i)), file.value(i));
            }
        } finally {
            handle.release();
        }
    }

    /**
     * Whether this is an L0 delta layer: written from an in-memory layer, so it covers every key
     * (docs/pageserver.md, "Compaction"). L1 layers, written by L0 compaction, cover a narrower range.
     */
    public boolean isLevel0() {
        return keyRange().equals(KeyRange.ALL);
    }

    /** Reads the entries in (key, LSN) order one at a time; the file stays pinned until the cursor is closed. */
    public Cursor cursor() {
        return new Cursor(handle.acquire());
    }

    /** A pull-based walk over a delta layer's entries (compaction merges several at once). */
    public final class Cursor implements AutoCloseable {
        private final LayerFile file;
        private final long count;
        private long at = -1;
        private boolean closed;

        private Cursor(LayerFile file) {
            this.file = file;
            this.count = file.entryCount();
        }

        /** Moves to the next entry; false past the last. */
        public boolean advance() {
            if (at < count) {
                at++;
            }
            return at < count;
        }

        public Key key() {
            return file.key(at);
        }

        public long lsn() {
            return file.lsn(at);
        }

        /** The current entry's value, read and checked (CRC) now. */
        public Value value() {
            return file.value(at);
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                handle.release();
            }
        }
    }

    @Override
    public void close() {
        handle.close();
    }

    @Override
    public String toString() {
        return "delta " + handle.name();
    }
}
