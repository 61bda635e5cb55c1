package dev.strata.pageserver.layer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pageserver's local layer files as a cache of object storage, with a byte budget
 * (docs/pageserver.md, "Layer cache"). Every {@link LayerFileHandle} of every timeline counts
 * the size of its local file here; when the total exceeds the budget, layers that object
 * storage holds under a durable index and that no reader holds are evicted, least recently
 * used first, until the total is within the budget. Layers not yet in S3 are never evicted:
 * the total may stay above the budget while uploads lag (the status shows it).
 *
 * <p>The budget counts files on disk. An evicted file is closed and deleted at once, but a
 * memory-mapped file's blocks are returned to the file system only when the JVM collects the
 * mapping (Java 21 cannot unmap one explicitly).
 */
public final class LayerCache {

    private static final Logger LOG = LoggerFactory.getLogger(LayerCache.class);

    /** No eviction: everything stays local. */
    public static final long UNLIMITED = Long.MAX_VALUE;

    private final long budgetBytes;
    private final Set<LayerFileHandle> handles = ConcurrentHashMap.newKeySet();
    private final AtomicLong localBytes = new AtomicLong();
    private final AtomicLong downloads = new AtomicLong();
    private final AtomicLong downloadedBytes = new AtomicLong();
    private final AtomicLong downloadFailures = new AtomicLong();
    private final AtomicLong evictions = new AtomicLong();
    private final AtomicLong evictedBytes = new AtomicLong();
    private final Object evictLock = new Object();

    public LayerCache(long budgetBytes) {
        if (budgetBytes <= 0) {
            throw new IllegalArgumentException("layer cache budget must be positive, got " + budgetBytes);
        }
        this.budgetBytes = budgetBytes;
    }

    public long budgetBytes() {
        return budgetBytes;
    }

    /** Bytes of layer files on local disk now. */
    public long localBytes() {
        return localBytes.get();
    }

    public long downloads() {
        return downloads.get();
    }

    public long downloadedBytes() {
        return downloadedBytes.get();
    }

    public long downloadFailures() {
        return downloadFailures.get();
    }

    public long evictions() {
        return evictions.get();
    }

    public long evictedBytes() {
        return evictedBytes.get();
    }

    void register(LayerFileHandle h) {
        handles.add(h);
    }

    void unregister(LayerFileHandle h) {
        handles.remove(h);
    }

    void adjust(long delta) {
        localBytes.addAndGet(delta);
    }

    void downloaded(long bytes) {
        downloads.incrementAndGet();
        downloadedBytes.addAndGet(bytes);
    }

    void downloadFailed() {
        downloadFailures.incrementAndGet();
    }

    /**
     * Evicts least recently used layers that object storage holds until the local total is
     * within the budget, or nothing more can be evicted. Cheap when within the budget; called
     * after every download and whenever layers become evictable.
     */
    public void evictIfOverBudget() {
        if (localBytes.get() <= budgetBytes) {
            return;
        }
        synchronized (evictLock) {
            if (localBytes.get() <= budgetBytes) {
                return;
            }
            List<LayerFileHandle> candidates = new ArrayList<>();
            for (LayerFileHandle h : handles) {
                if (h.isInRemote()) {
                    candidates.add(h);
                }
            }
            candidates.sort(Comparator.comparingLong(LayerFileHandle::lastUse));
            int evicted = 0;
            long freed = 0;
            for (LayerFileHandle h : candidates) {
                if (localBytes.get() <= budgetBytes) {
                    break;
                }
                long bytes = h.tryEvict();
                if (bytes > 0) {
                    evicted++;
                    freed += bytes;
                }
            }
            evictions.addAndGet(evicted);
            evictedBytes.addAndGet(freed);
            if (evicted > 0) {
                LOG.debug("evicted {} layers ({} bytes); local_bytes={} budget={}", evicted, freed, localBytes.get(),
                        budgetBytes);
            }
        }
    }
}
