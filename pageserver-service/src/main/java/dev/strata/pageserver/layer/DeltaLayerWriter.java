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

    @Override
    public void close() {
        writer.close();
    }
}
