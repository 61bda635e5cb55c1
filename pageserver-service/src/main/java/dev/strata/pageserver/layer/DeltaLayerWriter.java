package dev.strata.pageserver.layer;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.KeyRange;
import dev.strata.pgcore.fs.Fsync;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.nio.file.Path;

/**
 * Writes a new delta layer file from entries given in (key, LSN) order. The file appears
 * under its {@link LayerName} only when {@link #finish()} has made it durable.
 */
public final class DeltaLayerWriter implements AutoCloseable {

    private final LayerFileWriter writer;
    private final TimelineId timeline;

    public DeltaLayerWriter(Path dir, TimelineId timeline, KeyRange keys, LsnRange lsns) {
        this(dir, timeline, keys, lsns, Fsync.SYSTEM);
    }

    /** As {@link #DeltaLayerWriter(Path, TimelineId, KeyRange, LsnRange)}, forcing through {@code fsync}. */
    public DeltaLayerWriter(Path dir, TimelineId timeline, KeyRange keys, LsnRange lsns, Fsync fsync) {
        this.timeline = timeline;
        this.writer = new LayerFileWriter(dir, LayerName.delta(keys, lsns), timeline, fsync);
    }

    public void add(Key key, Lsn lsn, Value value) {
        writer.add(key, lsn, value);
    }

    /** Makes the file durable and opens it. */
    public DeltaLayer finish() {
        return finish(null);
    }

    /** Makes the file durable and opens it, counted in {@code cache} (may be null). */
    public DeltaLayer finish(LayerCache cache) {
        return DeltaLayer.open(writer.finish(), timeline, cache);
    }

    /**
     * As {@link #finish(LayerCache)}, with the key range narrowed to {@code keys} (inside the one
     * given at construction, holding every key added): an L1 layer learns its end key when the
     * next one starts.
     */
    public DeltaLayer finish(KeyRange keys, LayerCache cache) {
        writer.narrowKeyRange(keys);
        return finish(cache);
    }

    public long entryCount() {
        return writer.entryCount();
    }

    /** Bytes written so far, without the index (where compaction cuts L1 layers). */
    public long bytesWritten() {
        return writer.bytesWritten();
    }

    @Override
    public void close() {
        writer.close();
    }
}
