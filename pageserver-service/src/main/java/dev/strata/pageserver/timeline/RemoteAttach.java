package dev.strata.pageserver.timeline;

import dev.strata.pageserver.layer.LayerName;
import dev.strata.remote.Checksums;
import dev.strata.remote.Generation;
import dev.strata.pageserver.remote.IndexPart;
import dev.strata.pageserver.remote.IndexPartCodec;
import dev.strata.pageserver.remote.RemoteLayout;
import dev.strata.remote.RemoteStorage;
import dev.strata.remote.RemoteStorageException;
import dev.strata.pgcore.fs.CrashSafe;
import dev.strata.pgcore.id.TimelineId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.channels.FileChannel;
import java.util.HashMap;
import java.util.Map;
import dev.strata.pageserver.layer.LayerFileHandle;

/**
 * The object-storage half of {@link TimelineManager#attach}: find the index, and how to fetch
 * each layer when a read first needs it (no layer is downloaded by the attach itself).
 */
final class RemoteAttach {

    private RemoteAttach() {
    }

    /**
     * The newest index of a generation at or below ours. A newer generation's index is ignored
     * (a later attach elsewhere: not ours to read, and attaching under an older generation than
     * the timeline's current owner is the caller's mistake, logged by the uploader's start).
     */
    static IndexPart newestIndex(RemoteTimeline remote, TimelineId id) {
        Generation best = null;
        for (RemoteStorage.RemoteObject o : remote.storage().list(RemoteLayout.indexPrefix(id))) {
            Generation g = RemoteLayout.indexGeneration(id, o.key());
            if (g != null && g.compareTo(remote.generation()) <= 0 && (best == null || g.compareTo(best) > 0)) {
                best = g;
            }
        }
        if (best == null) {
            throw new TimelineException(TimelineException.Kind.NOT_FOUND, "timeline " + id + " has no index in remote "
                    + "storage at or below generation " + remote.generation() + " (" + RemoteLayout.indexPrefix(id) + "*)");
        }
        String key = RemoteLayout.indexKey(id, best);
        return IndexPartCodec.decode(remote.storage().get(key), id, key);
    }

    /**
     * How to download one layer of {@code index}: from the key of the generation that wrote it,
     * to a temporary name beside {@code target}, checked against the index's size and CRC-32C,
     * forced, renamed into place, the directory forced. A mismatch is refused with the key named
     * and nothing is renamed.
     */
    static LayerFileHandle.Download download(RemoteStorage storage, TimelineId id, LayerName name, IndexPart.LayerMeta meta) {
        String key = RemoteLayout.layerKey(id, name, meta.generation());
        return new LayerFileHandle.Download() {
            @Override
            public void into(Path target) throws IOException {
                Path tmp = target.resolveSibling(name + ".download");
                try {
                    storage.download(key, tmp);
                    long size = Files.size(tmp);
                    int crc;
                    try {
                        crc = Checksums.crc32c(tmp);
                    } catch (UncheckedIOException ex) {
                        throw ex.getCause();
                    }
                    if (size != meta.size() || crc != meta.crc32c()) {
                        throw new RemoteStorageException(RemoteStorageException.Kind.PERMANENT, "timeline " + id + ": layer "
                                + key + " downloaded as " + size + " bytes with CRC-32C " + Checksums.hex(crc)
                                + ", the index says " + meta.size() + " bytes, " + Checksums.hex(meta.crc32c()));
                    }
                    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                        ch.force(true);
                    }
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                } finally {
                    Files.deleteIfExists(tmp);
                }
                CrashSafe.fsyncDirectory(target.getParent());
            }

            @Override
            public long size() {
                return meta.size();
            }

            @Override
            public String describe() {
                return key;
            }
        };
    }

    /** Downloads for every layer {@code index} lists, by name. */
    static Map<LayerName, LayerFileHandle.Download> downloads(RemoteStorage storage, TimelineId id,
                                                               Map<LayerName, IndexPart.LayerMeta> layers) {
        Map<LayerName, LayerFileHandle.Download> all = new HashMap<>();
        layers.forEach((name, meta) -> all.put(name, download(storage, id, name, meta)));
        return all;
    }
}
