package dev.strata.pageserver.layer;

import dev.strata.pgcore.id.TimelineId;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One layer file of a timeline, whether it is on local disk now or only in object storage
 * (docs/pageserver.md, "Layer cache"). Readers {@link #acquire} the open file and
 * {@link #release} it when done; a layer that is not local is downloaded by the first reader
 * that needs it while concurrent readers of the same layer wait for that one download. A
 * download that fails throws {@link LayerDownloadException} to every waiter and leaves the
 * layer remote, so the next read tries again.
 *
 * <p>A layer becomes evictable once {@link #inRemote} says where it is in object storage
 * (after an index listing it is durable in S3); the {@link LayerCache} then may {@link
 * #tryEvict} it when no reader holds it: the file is closed and deleted, and read again on
 * demand. A layer without a remote source is never evicted.
 */
public final class LayerFileHandle {

    private static final Logger LOG = LoggerFactory.getLogger(LayerFileHandle.class);
    /** Orders uses across all handles for least-recently-used eviction. */
    private static final AtomicLong CLOCK = new AtomicLong();
    /** Bound on retries of "downloaded, then evicted before this reader pinned it". */
    private static final int MAX_RELOADS = 8;

    /**
     * Fetches a layer from object storage into {@code target}: complete, verified against the
     * index's size and checksum, and durable, or not at all (throws).
     */
    public interface Download {
        void into(Path target) throws IOException;

        /** The size the index records (for the cache's accounting). */
        long size();

        /** Where it is, for messages (the object key). */
        String describe();
    }

    private final Path path;
    private final LayerName name;
    private final TimelineId timelineId;
    private final LayerCache cache;
    // Guarded by this:
    private LayerFile file;
    private int pins;
    private CompletableFuture<Void> loading;
    private boolean closed;
    /** Closed by {@link #retire}: a read that still finds the layer in an old snapshot searches again. */
    private boolean retired;
    /** Bytes this handle counts in the cache now (its file's size while it is local). */
    private long counted;
    private volatile Download remote;
    private volatile long lastUse;

    private LayerFileHandle(Path path, LayerName name, TimelineId timelineId, LayerFile file, Download remote,
                            LayerCache cache) {
        this.path = path;
        this.name = name;
        this.timelineId = timelineId;
        this.file = file;
        this.remote = remote;
        this.cache = cache;
        this.lastUse = CLOCK.incrementAndGet();
    }

    /** A layer whose file is open already (written or opened from local disk). */
    static LayerFileHandle local(LayerFile file, LayerCache cache) {
        LayerFileHandle h = new LayerFileHandle(file.path(), file.name(), file.timelineId(), file, null, cache);
        if (cache != null) {
            h.count(fileSize(file.path()));
            cache.register(h);
        }
        return h;
    }

    /** A layer that is only in object storage; {@code path} is where it goes when downloaded. */
    static LayerFileHandle remote(Path path, LayerName name, TimelineId timelineId, Download download, LayerCache cache) {
        if (download == null) {
            throw new IllegalArgumentException("a remote layer needs a download");
        }
        LayerFileHandle h = new LayerFileHandle(path, name, timelineId, null, download, cache);
        if (cache != null) {
            cache.register(h);
        }
        return h;
    }

    public LayerName name() {
        return name;
    }

    public Path path() {
        return path;
    }

    /** Whether the file is on local disk and open now. */
    public synchronized boolean isLocal() {
        return file != null;
    }

    /**
     * The layer's size in bytes: its local file's, or what the index records when it is only in
     * object storage (0 if neither is known).
     */
    public long sizeBytes() {
        synchronized (this) {
            if (file != null) {
                return fileSize(path);
            }
        }
        Download d = remote;
        return d == null ? fileSize(path) : d.size();
    }

    /**
     * Closes the layer for good and deletes its local file (GC removed it from the timeline). A
     * reader that pinned it before keeps its mapping (the file's blocks go when that is collected).
     */
    public void retire() {
        synchronized (this) {
            retired = true;
        }
        close();
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.warn("could not delete retired layer file {}: {} (a restart removes it)", path, e.toString());
        }
    }

    private RuntimeException closedError() {
        String what = "layer " + name + " of timeline " + timelineId;
        return retired ? new LayerRetiredException(what + " was removed by compaction or GC")
                : new IllegalStateException(what + " is closed");
    }

    /** Whether object storage holds this layer under a durable index (so it may be evicted). */
    public boolean isInRemote() {
        return remote != null;
    }

    /**
     * Records that object storage holds the layer (a durable index lists it): from now on
     * evictable. The newest index's entry wins (it is what an attach would read).
     */
    public void inRemote(Download download) {
        remote = download;
    }

    long lastUse() {
        return lastUse;
    }

    /**
     * The open file, downloading it first if it is not local; the caller must {@link #release}
     * it. Throws {@link LayerDownloadException} if the download fails.
     */
    LayerFile acquire() {
        for (int attempt = 0; attempt < MAX_RELOADS; attempt++) {
            CompletableFuture<Void> wait;
            boolean mine = false;
            synchronized (this) {
                if (closed) {
                    throw closedError();
                }
                lastUse = CLOCK.incrementAndGet();
                if (file != null) {
                    pins++;
                    return file;
                }
                if (loading == null) {
                    loading = new CompletableFuture<>();
                    mine = true;
                }
                wait = loading;
            }
            if (mine) {
                LayerFile pinned = load(wait);
                if (pinned != null) {
                    return pinned; // pinned for us before the cache could evict it
                }
            }
            try {
                wait.join();
            } catch (CompletionException e) {
                Throwable c = e.getCause();
                if (c instanceof RuntimeException r) {
                    throw r;
                }
                throw new LayerDownloadException("timeline " + timelineId + ": layer " + name + " could not be read: " + c, c);
            }
            // Loaded; pinned on the next turn unless it was evicted in between (then loaded again).
        }
        throw new LayerDownloadException("timeline " + timelineId + ": layer " + name + " was evicted " + MAX_RELOADS
                + " times before it could be read: the layer cache budget is too small for the reads", null);
    }

    void release() {
        synchronized (this) {
            pins--;
        }
    }

    /** Opens or downloads the file; returns it pinned for the caller, or null if it failed ({@code done} says why). */
    private LayerFile load(CompletableFuture<Void> done) {
        LayerFile opened = null;
        RuntimeException failure = null;
        long bytes = 0;
        boolean downloaded = false;
        try {
            if (!Files.exists(path)) {
                Download d = remote;
                if (d == null) {
                    throw new IllegalStateException("timeline " + timelineId + ": layer " + name + " is neither on local "
                            + "disk (" + path + ") nor in remote storage");
                }
                long started = System.nanoTime();
                try {
                    d.into(path);
                } catch (IOException | RuntimeException e) {
                    if (cache != null) {
                        cache.downloadFailed();
                    }
                    throw new LayerDownloadException("timeline " + timelineId + ": layer " + name + " is not on local disk "
                            + "and could not be downloaded from " + d.describe() + ": " + e.getMessage()
                            + " (transient: the next read tries again)", e);
                }
                downloaded = true;
                LOG.debug("downloaded timeline={} layer={} in {} ms", timelineId, name,
                        (System.nanoTime() - started) / 1_000_000);
            }
            opened = LayerFile.open(path, timelineId);
            bytes = fileSize(path);
        } catch (RuntimeException e) {
            failure = e;
        }
        synchronized (this) {
            loading = null;
            if (opened != null) {
                if (closed) {
                    opened.close();
                    opened = null;
                    failure = closedError();
                } else {
                    file = opened;
                    pins++;
                }
            }
        }
        if (opened != null && cache != null) {
            if (downloaded) {
                cache.downloaded(bytes);
            }
            count(bytes);
            cache.evictIfOverBudget();
        }
        if (failure != null) {
            done.completeExceptionally(failure);
        } else {
            done.complete(null);
        }
        return opened;
    }

    /**
     * Closes and deletes the local file if no reader holds it and object storage has it;
     * returns the bytes freed (0: not evicted).
     */
    long tryEvict() {
        synchronized (this) {
            if (closed || file == null || pins > 0 || loading != null || remote == null) {
                return 0;
            }
            // Under the lock: a reader that comes next must find the file gone and download it,
            // not open the file this is about to delete.
            file.close();
            file = null;
            try {
                Files.deleteIfExists(path);
            } catch (IOException e) {
                LOG.warn("could not delete evicted layer file {}: {}", path, e.toString());
            }
        }
        return uncount();
    }

    /** Closes the file (the timeline stops); the local file stays. */
    void close() {
        LayerFile f;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            f = file;
            file = null;
        }
        if (f != null) {
            f.close();
        }
        uncount();
        if (cache != null) {
            cache.unregister(this);
        }
    }

    private void count(long bytes) {
        long delta;
        synchronized (this) {
            delta = bytes - counted;
            counted = bytes;
        }
        if (cache != null && delta != 0) {
            cache.adjust(delta);
        }
    }

    private long uncount() {
        long was;
        synchronized (this) {
            was = counted;
            counted = 0;
        }
        if (cache != null && was != 0) {
            cache.adjust(-was);
        }
        return was;
    }

    private static long fileSize(Path p) {
        try {
            return Files.size(p);
        } catch (NoSuchFileException e) {
            return 0;
        } catch (IOException e) {
            return 0;
        }
    }

    @Override
    public String toString() {
        return name.toString();
    }
}
