package dev.strata.pageserver.layer;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.KeyRange;
import dev.strata.pgcore.fs.Fsync;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.nio.file.Path;

/**
 * Writes a new image layer file: keys in increasing order, each with its full value at one
 * LSN. The file appears under its {@link LayerName} only when {@link #finish()} has made it durable.
 */
public final class ImageLayerWriter implements AutoCloseable {

    private final LayerFileWriter writer;
    private final TimelineId timeline;
    private final Lsn lsn;

    public ImageLayerWriter(Path dir, TimelineId timeline, KeyRange keys, Lsn lsn) {
        this(dir, timeline, keys, lsn, Fsync.SYSTEM);
    }

    /** As {@link #ImageLayerWriter(Path, TimelineId, KeyRange, Lsn)}, forcing through {@code fsync}. */
    public ImageLayerWriter(Path dir, TimelineId timeline, KeyRange keys, Lsn lsn, Fsync fsync) {
        this.timeline = timeline;
        this.lsn = lsn;
        this.writer = new LayerFileWriter(dir, LayerName.image(keys, lsn), timeline, fsync);
    }

    public void add(Key key, byte[] image) {
        writer.add(key, lsn, new Value.Image(image));
    }

    /** Makes the file durable and opens it. */
    public ImageLayer finish() {
        return finish(null);
    }

    /** Makes the file durable and opens it, counted in {@code cache} (may be null). */
    public ImageLayer finish(LayerCache cache) {
        return ImageLayer.open(writer.finish(), timeline, cache);
    }

    @Override
    public void close() {
        writer.close();
    }
}
