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

    private final LayerFile file;
    private final long lsn;

    private ImageLayer(LayerFile file) {
        this.file = file;
        this.lsn = file.name().lsnRange().start().value();
    }

    /** Opens and verifies an image layer file of {@code timeline}. */
    public static ImageLayer open(Path path, TimelineId timeline) {
        LayerFile f = LayerFile.open(path, timeline);
        if (!f.name().image()) {
            f.close();
            throw new CorruptLayerException(path, 6, "is a delta layer, expected an image layer");
        }
        return new ImageLayer(f);
    }

    public LayerName name() {
        return file.name();
    }

    public Path path() {
        return file.path();
    }

    public Lsn lsn() {
        return new Lsn(lsn);
    }

    public long entryCount() {
        return file.entryCount();
    }

    @Override
    public KeyRange keyRange() {
        return file.name().keyRange();
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
        long i = file.lastBefore(key, lsn + 1);
        if (i >= 0 && file.keyEquals(i, key)) {
            return state.add(file.value(i), lsn);
        }
        state.completeWithoutBase(lsn);
        return true;
    }

    /** Calls {@code action} once per key, in key order. */
    public void forEachKey(Consumer<Key> action) {
        for (long i = 0; i < file.entryCount(); i++) {
            action.accept(file.key(i));
        }
    }

    @Override
    public void close() {
        file.close();
    }

    @Override
    public String toString() {
        return "image " + file.name();
    }
}
