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

    private final LayerFile file;

    private DeltaLayer(LayerFile file) {
        this.file = file;
    }

    /** Opens and verifies a delta layer file of {@code timeline}. */
    public static DeltaLayer open(Path path, TimelineId timeline) {
        LayerFile f = LayerFile.open(path, timeline);
        if (f.name().image()) {
            f.close();
            throw new CorruptLayerException(path, 6, "is an image layer, expected a delta layer");
        }
        return new DeltaLayer(f);
    }

    public LayerName name() {
        return file.name();
    }

    public Path path() {
        return file.path();
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
        return file.name().lsnRange().start().value();
    }

    @Override
    public long lsnEnd() {
        return file.name().lsnRange().end().value();
    }

    @Override
    public boolean collect(Key key, long floor, long ceiling, ReconstructState state) {
        long i = file.lastBefore(key, ceiling);
        while (i >= 0 && file.keyEquals(i, key) && Long.compareUnsigned(file.lsn(i), floor) >= 0) {
            if (state.add(file.value(i), file.lsn(i))) {
                return true;
            }
            i--;
        }
        return false;
    }

    /** Calls {@code action} once per distinct key, in key order. */
    public void forEachKey(Consumer<Key> action) {
        Key last = null;
        for (long i = 0; i < file.entryCount(); i++) {
            if (last == null || !file.keyEquals(i, last)) {
                last = file.key(i);
                action.accept(last);
            }
        }
    }

    /** Calls {@code action} for every entry in (key, LSN) order, reading and verifying each value. */
    public void forEachEntry(EntryConsumer action) {
        for (long i = 0; i < file.entryCount(); i++) {
            action.accept(file.key(i), new Lsn(file.lsn(i)), file.value(i));
        }
    }

    @Override
    public void close() {
        file.close();
    }

    @Override
    public String toString() {
        return "delta " + file.name();
    }
}
