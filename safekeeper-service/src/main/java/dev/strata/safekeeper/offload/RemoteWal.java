package dev.strata.safekeeper.offload;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.remote.Checksums;
import dev.strata.remote.RemoteStorage;
import dev.strata.remote.RemoteStorageException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One safekeeper's view of the WAL in object storage ({@link WalObjectKeys}): uploads whole
 * segments and reads them back, verified. Keeps the last few segments read in memory, because
 * a walsender or a recovering peer reads a segment in many small chunks, in order.
 * Thread-safe.
 */
public final class RemoteWal implements AutoCloseable {

    /** Segments kept after a read (16 MiB each by default). */
    static final int CACHED_SEGMENTS = 2;

    private final RemoteStorage storage;
    private final Map<String, byte[]> cache = new LinkedHashMap<>(4, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, byte[]> e) {
            return size() > CACHED_SEGMENTS;
        }
    };
    private final AtomicLong bytesUploaded = new AtomicLong();
    private final AtomicLong bytesDownloaded = new AtomicLong();

    public RemoteWal(RemoteStorage storage) {
        this.storage = storage;
    }

    /**
     * Uploads a complete segment's bytes; S3 checks them against the CRC-32C that is also in the
     * key. Idempotent: the same committed segment always gets the same key and bytes.
     *
     * @return the key
     */
    public String upload(TimelineId timeline, String segmentName, byte[] segment) {
        int crc = Checksums.crc32c(segment);
        String key = WalObjectKeys.key(timeline, segmentName, crc);
        storage.put(key, segment);
        bytesUploaded.addAndGet(segment.length);
        return key;
    }

    /**
     * Deletes the offloaded segments of {@code timeline} that come before segment
     * {@code firstKept} (file names of one timeline sort in segment order).
     *
     * @return how many objects were deleted
     */
    public int deleteBefore(TimelineId timeline, String firstKept) {
        int n = 0;
        for (RemoteStorage.RemoteObject o : storage.list(WalObjectKeys.timelinePrefix(timeline))) {
            if (WalObjectKeys.parse(o.key()).segmentName().compareTo(firstKept) < 0) {
                storage.delete(o.key());
                n++;
            }
        }
        return n;
    }

    /**
     * Deletes every offloaded segment of {@code timeline} (the timeline was deleted: nothing may
     * read its WAL again). Any member may do it; deleting what another member deleted first is
     * no error.
     *
     * @return how many objects were deleted
     */
    public int deleteTimeline(TimelineId timeline) {
        int n = 0;
        for (RemoteStorage.RemoteObject o : storage.list(WalObjectKeys.timelinePrefix(timeline))) {
            storage.delete(o.key());
            n++;
        }
        synchronized (cache) {
            cache.keySet().removeIf(k -> k.startsWith(WalObjectKeys.timelinePrefix(timeline)));
        }
        return n;
    }

    /**
     * The whole segment {@code segmentName} of {@code timeline}, checked against the CRC-32C in
     * its key and against {@code segmentSize}.
     *
     * @throws RemoteStorageException {@code NOT_FOUND} when it was never offloaded; a corrupt
     *                                object is {@code PERMANENT}, with the key named
     */
    public byte[] read(TimelineId timeline, String segmentName, int segmentSize) {
        String prefix = WalObjectKeys.segmentPrefix(timeline, segmentName);
        synchronized (cache) {
            byte[] hit = cache.get(prefix);
            if (hit != null) {
                return hit;
            }
        }
        List<RemoteStorage.RemoteObject> found = storage.list(prefix);
        if (found.isEmpty()) {
            throw new RemoteStorageException(RemoteStorageException.Kind.NOT_FOUND, "WAL segment " + segmentName
                    + " of timeline " + timeline + " is not in object storage (no key under " + prefix + ")");
        }
        // Committed WAL is the same on every safekeeper, so there is one key; several would be a bug.
        if (found.size() > 1) {
            throw new RemoteStorageException(RemoteStorageException.Kind.PERMANENT, "WAL segment " + segmentName
                    + " of timeline " + timeline + " has " + found.size() + " objects with different checksums: "
                    + found.stream().map(RemoteStorage.RemoteObject::key).toList());
        }
        String key = found.getFirst().key();
        WalObjectKeys.SegmentObject parsed = WalObjectKeys.parse(key);
        byte[] bytes = storage.get(key);
        if (bytes.length != segmentSize) {
            throw new RemoteStorageException(RemoteStorageException.Kind.PERMANENT, "offloaded WAL " + key + " is "
                    + bytes.length + " bytes, not a segment of " + segmentSize);
        }
        int crc = Checksums.crc32c(bytes);
        if (crc != parsed.crc32c()) {
            throw new RemoteStorageException(RemoteStorageException.Kind.PERMANENT, "offloaded WAL " + key
                    + " fails its checksum: computed " + Checksums.hex(crc));
        }
        bytesDownloaded.addAndGet(bytes.length);
        synchronized (cache) {
            cache.put(prefix, bytes);
        }
        return bytes;
    }

    /** Bytes uploaded and downloaded by this process (status, bench). */
    public long bytesUploaded() {
        return bytesUploaded.get();
    }

    public long bytesDownloaded() {
        return bytesDownloaded.get();
    }

    @Override
    public void close() {
        storage.close();
    }
}
