package dev.strata.pageserver.timeline;

import dev.strata.pageserver.layer.LayerName;
import dev.strata.remote.Checksums;
import dev.strata.remote.Generation;
import dev.strata.pageserver.remote.IndexPart;
import dev.strata.pageserver.remote.IndexPartCodec;
import dev.strata.pageserver.remote.RemoteLayout;
import dev.strata.remote.RemoteStorage;
import dev.strata.remote.RemoteStorageException;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.ArrayList;
import java.util.function.Supplier;
import java.util.SortedMap;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies one timeline's layers and index to object storage, on its own thread, never on the
 * ingest or GetPage path (decision 0016).
 *
 * <p>The upload queue is the store's durable metadata ({@link LayerStore#durableMetadata()}):
 * a flush or compaction replaces it and wakes this thread, which then uploads every listed
 * layer not yet in S3, oldest first, and after them an index listing exactly those layers with
 * the metadata's disk-consistent LSN. Newer metadata supersedes older metadata not yet
 * uploaded, so the queue is bounded by the layers on local disk (which are there anyway) and a
 * flush never waits for S3: during an outage ingest and flushes go on, the remote-consistent
 * LSN stays, and uploads resume where they stopped when S3 answers again.
 *
 * <p>Ordering: an index is put only after every layer it lists is in S3 (each upload returned),
 * so an index in S3 never names a missing object; the remote-consistent LSN moves only after
 * the index put returned. Every key carries this pageserver's generation, so nothing here can
 * overwrite another generation's objects. A layer already in S3 (named by the index found at
 * start, of this or an older generation) is referenced where it is, not uploaded again.
 *
 * <p>At start the newest index of a generation at or below ours is read. If an index of a newer
 * generation exists, another pageserver has attached the timeline since: this one stops
 * uploading (and says so in its status) rather than write history nobody will read.
 */
final class TimelineUploader implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(TimelineUploader.class);
    private static final long MIN_BACKOFF_MS = 500;
    private static final long MAX_BACKOFF_MS = 30_000;
    /** Layer uploads in flight at once per timeline. */
    static final int MAX_CONCURRENT_UPLOADS = 4;

    private final TimelineId id;
    private final Path layersDir;
    private final LayerStore store;
    private final RemoteStorage remote;
    private final Generation generation;
    private final TimelineConfig config;
    private final Thread thread;
    private final java.util.concurrent.ExecutorService uploads;
    private final Object wake = new Object();
    private volatile boolean stopping;
    private volatile boolean woken;

    /** Layers in S3 (by name) and where; only this thread changes it after start. */
    private final Map<LayerName, IndexPart.LayerMeta> uploaded = new HashMap<>();
    /** The index found at start (null: none yet, or not read yet), only this thread reads it. */
    private IndexPart seed;
    private boolean seeded;
    private boolean seedPublished;
    private volatile TimelineMetadata lastUploaded;
    private volatile Lsn remoteConsistentLsn = Lsn.INVALID;
    private volatile int pendingLayers;
    private volatile long pendingBytes;
    private volatile String lastError;
    private volatile boolean stale;
    private volatile long layersUploaded;
    private volatile long bytesUploaded;
    private volatile long indexesUploaded;
    private volatile long layersDeleted;
    /** Where the GC cutoff the index carries comes from (the timeline's, persisted before GC removes anything). */
    private volatile Supplier<Lsn> gcCutoff;
    /**
     * Every layer a durable index (ours, or the one found at start) has listed, with where it is;
     * those the newest index no longer lists are the deletion queue. Only this thread uses it.
     */
    private final Map<LayerName, IndexPart.LayerMeta> indexed = new HashMap<>();
    /** The layers of the newest index this uploader put (or found at start); null before either. */
    private Set<LayerName> newestIndexed;

    /**
     * @param seed the index this timeline was attached from, if it was (saves the listing at start)
     */
    TimelineUploader(TimelineConfig config, Path layersDir, LayerStore store, RemoteTimeline remote, IndexPart seed) {
        this.id = config.id();
        this.config = config;
        this.layersDir = layersDir;
        this.store = store;
        this.remote = remote.storage();
        this.generation = remote.generation();
        this.gcCutoff = config::gcCutoffLsn;
        if (seed != null) {
            seedFrom(seed);
        }
        this.thread = Thread.ofPlatform().daemon().name("upload-" + id).unstarted(this::run);
        this.uploads = java.util.concurrent.Executors.newThreadPerTaskExecutor(
                Thread.ofVirtual().name("upload-" + id + "-", 0).factory());
    }

    void start() {
        store.onDurableChange(this::wake);
        thread.start();
    }

    /** Asks for an upload pass (cheap, any thread). */
    void wake() {
        synchronized (wake) {
            woken = true;
            wake.notifyAll();
        }
    }

    /** What the newest index in S3 covers: every value at or below it can be attached from S3. */
    Lsn remoteConsistentLsn() {
        return remoteConsistentLsn;
    }

    Generation generation() {
        return generation;
    }

    /** Layers of the durable metadata not yet in S3 (the upload queue's length). */
    int pendingLayers() {
        TimelineMetadata m = store.durableMetadata();
        return m == lastUploaded ? 0 : Math.max(pendingLayers, 0);
    }

    /**
     * Bytes of the layers counted by {@link #pendingLayers()}: what S3 does not hold yet of the
     * durable metadata as of the current pass's start (the upload backlog metric).
     */
    long pendingBytes() {
        TimelineMetadata m = store.durableMetadata();
        return m == lastUploaded ? 0 : Math.max(pendingBytes, 0);
    }

    /** The last upload failure while it is being retried, or why uploads stopped; null when all is well. */
    String lastError() {
        return lastError;
    }

    boolean stale() {
        return stale;
    }

    long layersUploaded() {
        return layersUploaded;
    }

    long bytesUploaded() {
        return bytesUploaded;
    }

    long indexesUploaded() {
        return indexesUploaded;
    }

    /** Layer objects deleted from S3 after GC dropped them (the deletion queue). */
    long layersDeleted() {
        return layersDeleted;
    }

    void gcCutoffSource(Supplier<Lsn> source) {
        this.gcCutoff = source;
    }

    /**
     * Waits until the remote-consistent LSN reaches {@code lsn}; false after {@code timeout}
     * (tests and graceful shutdown).
     */
    boolean awaitRemoteConsistent(Lsn lsn, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (this) {
            while (remoteConsistentLsn.compareTo(lsn) < 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || stopping) {
                    return remoteConsistentLsn.compareTo(lsn) >= 0;
                }
                wait(Math.max(1, Math.min(left / 1_000_000, 200)));
            }
            return true;
        }
    }

    /**
     * Stops the thread. With {@code drainTimeout} above zero it first lets the thread upload
     * what is durable now, for at most that long (graceful shutdown after the final flush).
     */
    void close(Duration drainTimeout) {
        if (!drainTimeout.isZero() && !stale) {
            wake();
            try {
                if (!awaitRemoteConsistent(store.durableMetadata().diskConsistentLsn(), drainTimeout)) {
                    log.warn("timeline={} not everything was uploaded before shutdown: remote_consistent_lsn={} "
                            + "disk_consistent_lsn={} (the next start uploads the rest)", id, remoteConsistentLsn,
                            store.durableMetadata().diskConsistentLsn());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        stopping = true;
        store.onDurableChange(null);
        wake();
        thread.interrupt();
        try {
            thread.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        uploads.shutdownNow();
    }

    @Override
    public void close() {
        close(Duration.ZERO);
    }

    private void run() {
        long backoff = MIN_BACKOFF_MS;
        while (!stopping) {
            try {
                if (!seeded) {
                    readRemoteIndex();
                }
                if (!seedPublished && !stale) {
                    // What an index in S3 lists already (this or an older generation) may be evicted.
                    store.markInRemote(RemoteAttach.downloads(remote, id, uploaded));
                    seedPublished = true;
                }
                if (!stale) {
                    uploadOnce();
                }
                if (!stale) {
                    deleteDropped();
                }
                if (lastError != null && !stale) {
                    log.info("timeline={} uploads succeed again; remote_consistent_lsn={}", id, remoteConsistentLsn);
                    lastError = null;
                }
                backoff = MIN_BACKOFF_MS;
                awaitWake(1_000);
            } catch (RemoteStorageException | UncheckedIOException | IndexPartCodec.IndexFormatException e) {
                if (stopping) {
                    return;
                }
                if (!e.getMessage().equals(lastError)) {
                    log.warn("timeline={} upload failed, retrying in {} ms: {}", id, backoff, e.getMessage());
                }
                lastError = e.getMessage();
                // Not woken by flushes meanwhile: S3 is failing, so waiting longer is the point.
                sleep(backoff);
                backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
            } catch (RuntimeException e) {
                if (stopping) {
                    return;
                }
                log.error("timeline={} uploader failed; retrying in {} ms", id, MAX_BACKOFF_MS, e);
                lastError = e.toString();
                sleep(MAX_BACKOFF_MS);
            }
        }
    }

    private void awaitWake(long ms) {
        synchronized (wake) {
            if (!woken && !stopping) {
                try {
                    wake.wait(ms);
                } catch (InterruptedException e) {
                    return;
                }
            }
            woken = false;
        }
    }

    private void sleep(long ms) {
        long deadline = System.nanoTime() + ms * 1_000_000;
        while (!stopping) {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                return;
            }
            try {
                Thread.sleep(Math.min(left, 200));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Finds the newest index at or below our generation; a newer one means we are stale. */
    private void readRemoteIndex() {
        List<RemoteStorage.RemoteObject> objects = remote.list(RemoteLayout.indexPrefix(id));
        Generation newest = null;
        Generation newestOwn = null;
        for (RemoteStorage.RemoteObject o : objects) {
            Generation g = RemoteLayout.indexGeneration(id, o.key());
            if (g == null) {
                continue;
            }
            if (newest == null || g.compareTo(newest) > 0) {
                newest = g;
            }
            if (g.compareTo(generation) <= 0 && (newestOwn == null || g.compareTo(newestOwn) > 0)) {
                newestOwn = g;
            }
        }
        if (newest != null && newest.compareTo(generation) > 0) {
            stale = true;
            lastError = "uploads stopped: generation " + newest + " has attached this timeline since (ours is "
                    + generation + "); this pageserver must not write its history";
            log.error("timeline={} {}", id, lastError);
        } else if (newestOwn != null) {
            String key = RemoteLayout.indexKey(id, newestOwn);
            seedFrom(IndexPartCodec.decode(remote.get(key), id, key));
        }
        seeded = true;
    }

    private void seedFrom(IndexPart index) {
        seed = index;
        seeded = true;
        // Only layers whose local file has the size the index says are taken as uploaded; a
        // different file of the same name (a flush redone after a crash) goes up again, as ours.
        for (var e : index.layers().entrySet()) {
            Path local = layersDir.resolve(e.getKey().toString());
            try {
                if (!Files.exists(local) || Files.size(local) == e.getValue().size()) {
                    uploaded.put(e.getKey(), e.getValue());
                }
            } catch (IOException ex) {
                // not taken: uploaded again if it is still listed
            }
        }
        indexed.putAll(index.layers());
        newestIndexed = Set.copyOf(index.layers().keySet());
        remoteConsistentLsn = index.diskConsistentLsn();
        synchronized (this) {
            notifyAll();
        }
    }

    /**
     * The deletion queue (issue 13 item 2, decision 0024): layer objects that an earlier durable
     * index listed and the newest durable index does not (GC dropped them). Run only after that
     * index put returned, and only while no newer generation has written an index (checked by a
     * listing before each batch: a stale pageserver never deletes, the new owner's index may name
     * those objects). A crash before a delete leaves garbage (an object no index names), never an
     * index naming a missing object; the queue is derived again from the indexes.
     */
    private void deleteDropped() {
        if (newestIndexed == null) {
            return;
        }
        List<LayerName> dropped = new ArrayList<>();
        for (LayerName name : indexed.keySet()) {
            if (!newestIndexed.contains(name)) {
                dropped.add(name);
            }
        }
        if (dropped.isEmpty()) {
            return;
        }
        for (RemoteStorage.RemoteObject o : remote.list(RemoteLayout.indexPrefix(id))) {
            Generation g = RemoteLayout.indexGeneration(id, o.key());
            if (g != null && g.compareTo(generation) > 0) {
                stale = true;
                lastError = "deletions and uploads stopped: generation " + g + " has attached this timeline since (ours is "
                        + generation + "); only the current generation deletes";
                log.error("timeline={} {}", id, lastError);
                return;
            }
        }
        for (LayerName name : dropped) {
            IndexPart.LayerMeta meta = indexed.get(name);
            remote.delete(RemoteLayout.layerKey(id, name, meta.generation()));
            indexed.remove(name);
            uploaded.remove(name);
            layersDeleted++;
            log.debug("timeline={} deleted layer object={} generation={}", id, name, meta.generation());
        }
        log.info("timeline={} deleted {} layer objects GC dropped (after the index without them)", id, dropped.size());
    }

    /** A layer file's size for the backlog figure; 0 if it cannot be read now (the upload will say why). */
    private static long sizeOrZero(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return 0;
        }
    }

    private void uploadOnce() {
        TimelineMetadata m = store.durableMetadata();
        if (m == lastUploaded) {
            return;
        }
        SortedMap<LayerName, IndexPart.LayerMeta> listed = new TreeMap<>();
        Map<LayerName, Long> sizes = new HashMap<>();
        long missingBytes = 0;
        for (LayerName name : m.layers()) {
            if (!uploaded.containsKey(name)) {
                long size = sizeOrZero(layersDir.resolve(name.toString()));
                sizes.put(name, size);
                missingBytes += size;
            }
        }
        pendingLayers = sizes.size();
        pendingBytes = missingBytes;
        // Oldest first, so that a pass cut short leaves S3 holding mostly a prefix of history;
        // up to MAX_CONCURRENT_UPLOADS at a time (one stream alone got 8 MB/s during a bulk
        // load on 2 shared cores, docs/pageserver.md). The index waits for all of them.
        List<LayerName> order = m.layers().stream()
                .sorted((a, b) -> a.lsnRange().start().compareTo(b.lsnRange().start())).toList();
        List<LayerName> toUpload = order.stream().filter(n -> !uploaded.containsKey(n)).toList();
        if (!uploadAll(toUpload, sizes)) {
            return; // stopping
        }
        for (LayerName name : order) {
            listed.put(name, uploaded.get(name));
        }
        IndexPart index = new IndexPart(id, generation, m.diskConsistentLsn(), m.prevRecordLsn(), config.startLsn(),
                config.base(), config.dataChecksums(), config.ancestorId(), config.ancestorLsn(), gcCutoff.get(),
                config.startPrevRecordLsn(), listed);
        remote.put(RemoteLayout.indexKey(id, generation), IndexPartCodec.encode(index));
        indexesUploaded++;
        indexed.putAll(listed);
        newestIndexed = Set.copyOf(listed.keySet());
        // The index listing them is durable: from now on the local files are a cache.
        store.markInRemote(RemoteAttach.downloads(remote, id, listed));
        lastUploaded = m;
        pendingLayers = 0;
        pendingBytes = 0;
        synchronized (this) {
            remoteConsistentLsn = m.diskConsistentLsn();
            notifyAll();
        }
        log.debug("timeline={} uploaded index generation={} remote_consistent_lsn={} layers={}", id, generation,
                m.diskConsistentLsn(), listed.size());
    }

    /**
     * Uploads {@code names} with at most {@link #MAX_CONCURRENT_UPLOADS} in flight, started in
     * order; records each in {@link #uploaded} as it returns (on this thread). After a failure no
     * new upload starts, those in flight are waited for (and kept if they succeeded), then the
     * first failure is thrown. False if the uploader is stopping (nothing may be published).
     */
    private boolean uploadAll(List<LayerName> names, Map<LayerName, Long> sizes) {
        java.util.concurrent.CompletionService<Map.Entry<LayerName, IndexPart.LayerMeta>> done =
                new java.util.concurrent.ExecutorCompletionService<>(uploads);
        int next = 0;
        int inFlight = 0;
        int missing = names.size();
        RuntimeException failure = null;
        while (inFlight > 0 || (next < names.size() && failure == null && !stopping)) {
            if (next < names.size() && failure == null && !stopping && inFlight < MAX_CONCURRENT_UPLOADS) {
                LayerName name = names.get(next++);
                long size = sizes.getOrDefault(name, 0L);
                done.submit(() -> Map.entry(name, uploadLayer(name, size)));
                inFlight++;
                continue;
            }
            java.util.concurrent.Future<Map.Entry<LayerName, IndexPart.LayerMeta>> f;
            try {
                f = done.take();
            } catch (InterruptedException e) {
                return false; // close(): the executor is shut down, nothing is published
            }
            inFlight--;
            try {
                Map.Entry<LayerName, IndexPart.LayerMeta> u = f.get();
                uploaded.put(u.getKey(), u.getValue());
                layersUploaded++;
                bytesUploaded += u.getValue().size();
                pendingLayers = --missing;
                pendingBytes -= u.getValue().size();
                log.debug("timeline={} uploaded layer={} bytes={}", id, u.getKey(), u.getValue().size());
            } catch (java.util.concurrent.ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause() instanceof RuntimeException r ? r
                            : new IllegalStateException("layer upload failed: " + e.getCause(), e.getCause());
                }
            } catch (InterruptedException e) {
                return false;
            }
        }
        if (failure != null) {
            throw failure;
        }
        return !stopping;
    }

    /**
     * One layer to S3 under our generation (any thread: no state of this uploader is touched).
     * {@code knownSize} is the size the pass read for its backlog figure (0 if it could not:
     * read again here, where a failure is reported).
     */
    private IndexPart.LayerMeta uploadLayer(LayerName name, long knownSize) {
        Path file = layersDir.resolve(name.toString());
        long size = knownSize;
        if (size == 0) {
            try {
                size = Files.size(file);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read layer " + file + " to upload it", e);
            }
        }
        int crc = Checksums.crc32c(file); // layer files are immutable: the upload sends these bytes
        remote.upload(RemoteLayout.layerKey(id, name, generation), file, crc);
        return new IndexPart.LayerMeta(size, crc, generation);
    }
}
