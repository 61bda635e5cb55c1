package dev.strata.pageserver.layer;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.KeyRange;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * An immutable image layer file: the value of every key in its key range as of one LSN,
 * sorted by key. It is complete for its range: a key it does not hold has no value at that
 * LSN. Written by compaction ({@link ImageLayerWriter}); read by GetPage through the layer map.
 */
public final class ImageLayer implements Layer, AutoCloseable {

    private final LayerFileHandle handle;
    private final long lsn;

    private ImageLayer(LayerFileHandle handle) {
        this.handle = handle;
        this.lsn = handle.name().lsnRange().start().value();
    }

    /** Opens and verifies an image layer file of {@code timeline}. */
    public static ImageLayer open(Path path, TimelineId timeline) {
        return open(path, timeline, null);
    }

    /** Opens and verifies an image layer file of {@code timeline}, counted in {@code cache} (may be null). */
    public static ImageLayer open(Path path, TimelineId timeline, LayerCache cache) {
        LayerFile f = LayerFile.open(path, timeline);
        if (!f.name().image()) {
            f.close();
            throw new CorruptLayerException(path, 6, "is a delta layer, expected an image layer");
        }
        return new ImageLayer(LayerFileHandle.local(f, cache));
    }

    /**
     * An image layer that is only in object storage: downloaded to {@code path} by the first read
     * that needs it (and verified then, as {@link #open} does).
     */
    public static ImageLayer remote(Path path, LayerName name, TimelineId timeline, LayerFileHandle.Download download,
                                    LayerCache cache) {
        if (!name.image()) {
            throw new IllegalArgumentException(name + " is a delta layer, expected an image layer");
        }
        return new ImageLayer(LayerFileHandle.remote(path, name, timeline, download, cache));
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

    public Lsn lsn() {
        return new Lsn(lsn);
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
        return lsn;
    }

    @Override
    public long lsnEnd() {
        return lsn + 1;
    }

    @Override
    public boolean collect(Key key, long floor, long ceiling, ReconstructState state) {
        LayerFile file = handle.acquire();
        try {
            long i = file.lastBefore(key, lsn + 1);
            if (i >= 0 && file.keyEquals(i, key)) {
                return state.add(file.value(i), lsn);
            }
        } finally {
            handle.release();
        }
        state.completeWithoutBase(lsn);
        return true;
    }

    /** Calls {@code action} once per key, in key order. */
    public void forEachKey(Consumer<Key> action) {
        LayerFile file = handle.acquire();
        try {
            for (long i = 0; i < file.entryCount(); i++) {
                action.accept(file.key(i));
            }
        } finally {
            handle.release();
        }
    }

    @Override
    public void close() {
        handle.close();
    }

    @Override
    public String toString() {
        return "image " + handle.name();
    }
}
