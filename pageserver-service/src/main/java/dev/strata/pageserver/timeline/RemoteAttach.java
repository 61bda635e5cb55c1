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

/** The object-storage half of {@link TimelineManager#attach}: find the index, fetch the layers. */
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
     * Downloads every layer of {@code index} into {@code dir}: each to a temporary name, checked
     * against the index's size and CRC-32C, renamed, then the directory forced. Returns the bytes.
     */
    static long downloadLayers(RemoteStorage storage, TimelineId id, IndexPart index, Path dir) throws IOException {
        long bytes = 0;
        for (var e : index.layers().entrySet()) {
            LayerName name = e.getKey();
            IndexPart.LayerMeta meta = e.getValue();
            String key = RemoteLayout.layerKey(id, name, meta.generation());
            Path tmp = dir.resolve(name + ".download");
            storage.download(key, tmp);
            long size = Files.size(tmp);
            int crc;
            try {
                crc = Checksums.crc32c(tmp);
            } catch (UncheckedIOException ex) {
                throw ex.getCause();
            }
            if (size != meta.size() || crc != meta.crc32c()) {
                Files.deleteIfExists(tmp);
                throw new RemoteStorageException(RemoteStorageException.Kind.PERMANENT, "timeline " + id + ": layer " + key
                        + " downloaded as " + size + " bytes with CRC-32C " + Checksums.hex(crc) + ", the index says "
                        + meta.size() + " bytes, " + Checksums.hex(meta.crc32c()) + ": refusing to attach from it");
            }
            try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, dir.resolve(name.toString()), StandardCopyOption.ATOMIC_MOVE);
            bytes += size;
        }
        CrashSafe.fsyncDirectory(dir);
        return bytes;
    }
}
