package dev.strata.pageserver.timeline;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.DeltaLayer;
import dev.strata.pageserver.layer.DeltaLayerWriter;
import dev.strata.pageserver.layer.ImageLayer;
import dev.strata.pageserver.layer.InMemoryLayer;
import dev.strata.pageserver.layer.LayerCache;
import dev.strata.pageserver.layer.LayerFileHandle;
import dev.strata.pageserver.layer.LayerMap;
import dev.strata.pageserver.layer.LayerName;
import dev.strata.pageserver.layer.LayerRetiredException;
import dev.strata.pageserver.layer.ReconstructState;
import dev.strata.pageserver.layer.Redo;
import dev.strata.pageserver.layer.Value;
import dev.strata.pageserver.layer.Layer;
import dev.strata.pgcore.fs.Fsync;
import dev.strata.pgcore.fs.FsyncFailedException;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The storage of one timeline on local disk. WAL ingest enters through {@link #put} (one
 * writer thread); GetPage leaves through {@link #getValue} (any thread). {@link #flush} turns
 * frozen in-memory layers into delta files and then advances the durable disk-consistent LSN;
 * {@link #compact} adds image layers; {@link #open} rebuilds everything after a restart, and
 * ingest resumes after {@link #diskConsistentLsn()}.
 *
 * <p>Failures (decision 0010). A layer or metadata write that fails (the disk is full) lists
 * nothing, removes what it wrote and keeps the frozen layer in memory: {@link #flush} throws a
 * {@link StorageException.Category#WRITE_FAILED} and the next flush tries again, so ingest
 * (held back by {@link #limitFrozenLayers}) resumes by itself once space is freed. A failed
 * force is fatal: the store never writes or forces again ({@link
 * StorageException.Category#FSYNC_FAILED} from every later flush and compaction), the
 * disk-consistent LSN stays where the last good metadata write left it, and a restart reloads
 * only the layers the metadata lists, checking each.
 */
public final class LayerStore implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(LayerStore.class);
    private static final ThreadLocal<ReconstructState> STATE = ThreadLocal.withInitial(ReconstructState::new);

    private final Path dir;
    private final TimelineId timelineId;
    private final StorageConfig config;
    private final Fsync fsync;
    /** Set by the first failed force; from then on no file is written. */
    private volatile FsyncFailedException fsyncFailure;
    /** Serialises flush and compaction, the two writers of files and metadata. */
    private final ReentrantLock fileLock = new ReentrantLock();
    /** Guards swaps of {@link #map} and {@link #lastPutLsn}. */
    private final Object mapLock = new Object();
    private volatile LayerMap map;
    /** The ingest position (last record, disk-consistent); its one owner. */
    private final IngestPosition position;
    /**
     * The highest LSN put into the open layer: the order check of {@link #put}, not a position
     * readers see (a record's puts land here before {@link IngestPosition#recordIngested}).
     * Written under {@link #mapLock}.
     */
    private volatile Lsn lastPutLsn;
    /** Set by {@link #requestFreeze}: the next put that starts a new record freezes first. */
    private volatile boolean freezeRequested;
    /** Ingest waits while this many frozen layers await their flush (0: never). */
    private volatile int maxFrozenLayers;
    /** Notified after every flushed layer (ingest's backpressure waits on it). */
    private final Object flushed = new Object();
    private volatile boolean closed;
    /** For each frozen layer: the prev record LSN at its end; guarded by {@link #mapLock}. */
    private final Map<InMemoryLayer, Lsn> prevAtFreeze = new IdentityHashMap<>();
    /** Latest relation sizes, so GetPage's size check does not search the layers. */
    private final RelSizeCache sizes = new RelSizeCache();
    /** What the metadata file says now (replaced after every successful metadata write). */
    private volatile TimelineMetadata durable;
    /** Told (on the flusher's thread, after the metadata write) whenever {@link #durable} changes. */
    private volatile Runnable durableListener = () -> { };
    /** The timeline this one branched from and where; null for a root (docs/pageserver.md, "Branches"). */
    private volatile Ancestor ancestor;
    /** Where new layer files are counted (docs/pageserver.md, "Layer cache"); null: not counted, never evicted. */
    private volatile LayerCache cache;
    /** Layers visited and records replayed per page read (docs/pageserver.md, "Compaction"). */
    private final ReadAmplification readAmplification = new ReadAmplification();
    /** L0 compaction passes that wrote L1 layers, and the L0 layers they replaced. */
    private volatile long level0Compactions;
    private volatile long level0Compacted;

    LayerStore(Path dir, TimelineId timelineId, StorageConfig config, LayerMap map, Lsn diskConsistentLsn,
               Lsn diskConsistentPrevLsn, Fsync fsync) {
        this.fsync = fsync;
        this.dir = dir;
        this.timelineId = timelineId;
        this.config = config;
        this.map = map.withOpen(new InMemoryLayer(diskConsistentLsn.plus(1)));
        this.position = new IngestPosition(diskConsistentLsn, diskConsistentPrevLsn);
        this.lastPutLsn = diskConsistentLsn;
        this.durable = new TimelineMetadata(timelineId, diskConsistentLsn, diskConsistentPrevLsn, map.persistentNames());
    }

    /**
     * A branch's parent store and the LSN it branched at. Reads of this store below its own
     * layers continue in {@code store} at {@code min(L, lsn)}.
     */
    public record Ancestor(LayerStore store, Lsn lsn) {
        public Ancestor {
            if (store == null || lsn == null || !lsn.isValid()) {
                throw new IllegalArgumentException("an ancestor needs a store and a valid LSN");
            }
        }
    }

    /**
     * Makes this store a branch of {@code parent} at {@code lsn}: a key this store's own layers
     * do not complete is read on in the parent's history at {@code min(L, lsn)}, recursively.
     * Set once, before the store is read.
     */
    void ancestor(Ancestor link) {
        if (link.store() == this) {
            throw new IllegalArgumentException("timeline " + timelineId + " cannot be its own ancestor");
        }
        this.ancestor = link;
    }

    /** The parent and branch LSN, or null for a root. */
    public Ancestor ancestor() {
        return ancestor;
    }

    /**
     * Collects what reconstructing {@code key} at {@code lsn} needs from this store's layers and,
     * while that is incomplete, from each ancestor's at min(L, ancestor LSN).
     */
    void searchHistory(Key key, long lsn, ReconstructState state) {
        // A layer retired (by L0 compaction or GC) after this read took its snapshot: search again
        // on the current one. Each retry sees a newer map; the bound only guards against a bug.
        for (int attempt = 1; ; attempt++) {
            try {
                searchHistoryOnce(key, lsn, state);
                return;
            } catch (LayerRetiredException e) {
                if (attempt >= MAX_SEARCH_ATTEMPTS) {
                    throw e;
                }
                state.reset();
            }
        }
    }

    /** Searches for a read that met a retired layer; compaction retires a layer only after it swapped the map. */
    private static final int MAX_SEARCH_ATTEMPTS = 16;

    private void searchHistoryOnce(Key key, long lsn, ReconstructState state) {
        LayerStore s = this;
        long at = lsn;
        while (true) {
            s.map.search(key, at, state);
            Ancestor a = s.ancestor;
            if (state.complete() || a == null) {
                return;
            }
            if (Long.compareUnsigned(a.lsn().value(), at) < 0) {
                at = a.lsn().value();
            }
            s = a.store();
        }
    }

    /** Creates an empty timeline in {@code dir}; the first put must be above {@code startLsn}. */
    public static LayerStore create(Path dir, TimelineId timelineId, Lsn startLsn, StorageConfig config) {
        return create(dir, timelineId, startLsn, config, Fsync.SYSTEM);
    }

    /** As {@link #create(Path, TimelineId, Lsn, StorageConfig)}, forcing every file through {@code fsync}. */
    public static LayerStore create(Path dir, TimelineId timelineId, Lsn startLsn, StorageConfig config, Fsync fsync) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create timeline directory " + dir, e);
        }
        if (Files.exists(dir.resolve(TimelineMetadataFile.FILE_NAME))) {
            throw new StorageException(StorageException.Category.CONFLICT, "timeline directory " + dir + " already holds a timeline");
        }
        TimelineMetadataFile.write(fsync, dir, new TimelineMetadata(timelineId, startLsn, List.of()));
        LOG.info("created timeline storage timeline={} dir={} start_lsn={}", timelineId, dir, startLsn);
        return new LayerStore(dir, timelineId, config, LayerMap.empty(), startLsn, Lsn.INVALID, fsync);
    }

    /**
     * Creates an empty timeline whose history starts at {@code startLsn}, the end of a record that
     * starts at {@code prevRecordLsn} (a branch: its WAL continues there with that {@code xl_prev}).
     */
    static void createEmpty(Path dir, TimelineId timelineId, Lsn startLsn, Lsn prevRecordLsn) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create timeline directory " + dir, e);
        }
        TimelineMetadataFile.write(Fsync.SYSTEM, dir, new TimelineMetadata(timelineId, startLsn, prevRecordLsn, List.of()));
    }

    /**
     * Opens the timeline in {@code dir} after a restart: loads and verifies the layers the
     * metadata lists, removes leftovers of interrupted writes, and reports the disk-consistent
     * LSN from which the caller re-ingests WAL.
     */
    public static LayerStore open(Path dir, StorageConfig config) {
        return open(dir, config, Fsync.SYSTEM);
    }

    /** As {@link #open(Path, StorageConfig)}, forcing every file through {@code fsync}. */
    public static LayerStore open(Path dir, StorageConfig config, Fsync fsync) {
        return TimelineLoader.load(dir, config, fsync, null, null);
    }

    /**
     * As {@link #open(Path, StorageConfig)}, with the layer files counted in {@code cache} (may be
     * null), and a listed layer missing from {@code dir} taken from object storage where
     * {@code remote} finds it (downloaded when first read) instead of refusing the timeline.
     */
    static LayerStore open(Path dir, StorageConfig config, LayerCache cache, RemoteLayers remote) {
        return TimelineLoader.load(dir, config, Fsync.SYSTEM, cache, remote);
    }

    void cache(LayerCache cache) {
        this.cache = cache;
    }

    /**
     * Records that object storage holds these layers under a durable index (the uploader calls
     * it after each index put): they become evictable, and the cache evicts if it is over budget.
     */
    void markInRemote(Map<LayerName, LayerFileHandle.Download> held) {
        LayerMap m = map;
        for (DeltaLayer d : m.deltas()) {
            LayerFileHandle.Download where = held.get(d.name());
            if (where != null) {
                d.handle().inRemote(where);
            }
        }
        for (ImageLayer i : m.images()) {
            LayerFileHandle.Download where = held.get(i.name());
            if (where != null) {
                i.handle().inRemote(where);
            }
        }
        LayerCache c = cache;
        if (c != null) {
            c.evictIfOverBudget();
        }
    }

    /** Layer files on local disk now, and those only in object storage. */
    public record Residence(int local, int remoteOnly) {
    }

    public Residence residence() {
        LayerMap m = map;
        int local = 0;
        int remote = 0;
        for (DeltaLayer d : m.deltas()) {
            if (d.handle().isLocal()) {
                local++;
            } else {
                remote++;
            }
        }
        for (ImageLayer i : m.images()) {
            if (i.handle().isLocal()) {
                local++;
            } else {
                remote++;
            }
        }
        return new Residence(local, remote);
    }

    /** Why the store stopped writing (a failed force), or null while it works. */
    public FsyncFailedException fsyncFailure() {
        return fsyncFailure;
    }

    public TimelineId timelineId() {
        return timelineId;
    }

    public Path directory() {
        return dir;
    }

    /** The timeline's ingest position, whose one owner this store is. */
    public IngestPosition position() {
        return position;
    }

    /** Every put at or below this LSN is in a durable layer file ({@link IngestPosition}). */
    public Lsn diskConsistentLsn() {
        return position.diskConsistentLsn();
    }

    /**
     * The state the metadata file holds now: disk-consistent LSN, its prev record LSN and every
     * layer file, consistent with each other. What the remote uploader copies to object storage.
     */
    public TimelineMetadata durableMetadata() {
        return durable;
    }

    /**
     * {@code listener} runs after every change of {@link #durableMetadata()} (a flush or a
     * compaction), on the thread that made it: it must only wake someone, never do I/O.
     */
    public void onDurableChange(Runnable listener) {
        this.durableListener = listener == null ? () -> { } : listener;
    }

    /** The prev record LSN persisted with the disk-consistent LSN (INVALID if unknown). */
    public Lsn diskConsistentPrevRecordLsn() {
        return position.diskConsistentPrevRecordLsn();
    }

    /**
     * End of the last record ingest reported complete ({@link IngestPosition#recordIngested},
     * {@link IngestPosition#walIngested}): every value at or below it is complete.
     */
    public Lsn lastRecordLsn() {
        return position.lastRecordLsn();
    }

    /** Start LSN of the record that ends at {@link #lastRecordLsn()}, if known; INVALID otherwise. */
    public Lsn prevRecordLsn() {
        return position.prevRecordLsn();
    }

    /** The current layer map snapshot (for inspection and tests). */
    public LayerMap layerMap() {
        return map;
    }

    /**
     * Stores {@code value} for {@code key} at {@code lsn} (a WAL record's end LSN). LSNs never go
     * backwards; all puts of one record share its LSN. Freezes the open layer first when it is
     * full and this put starts a new LSN, so one record never straddles two layers.
     */
    public void put(Key key, Lsn lsn, Value value) {
        if (maxFrozenLayers > 0 && lsn.isAfter(writeEdge())) {
            awaitFlushCapacity();
        }
        synchronized (mapLock) {
            Lsn edge = writeEdge();
            Lsn dcl = position.diskConsistentLsn();
            if (lsn.compareTo(edge) < 0 || !lsn.isAfter(dcl)) {
                throw new IllegalArgumentException("timeline " + timelineId + ": put of " + key.describe() + " at " + lsn
                        + " is not after last record LSN " + edge + " / disk-consistent LSN " + dcl);
            }
            InMemoryLayer open = map.open();
            if (lsn.isAfter(edge) && (open.size() >= config.checkpointDistanceBytes() || freezeRequested)) {
                freezeRequested = false;
                freezeLocked();
                open = map.open();
            }
            open.put(key, lsn, value);
            if (RelSizeCache.caches(key)) {
                sizes.onPut(key, lsn.value(), value); // before the write edge can move past it
            }
            lastPutLsn = lsn;
        }
    }

    /**
     * The highest LSN written or reported: the last put, or the last record LSN if ingest
     * reported WAL above it without puts. Puts never go below it; a layer freezes at it.
     */
    private Lsn writeEdge() {
        Lsn last = position.lastRecordLsn();
        Lsn put = lastPutLsn;
        return put.isAfter(last) ? put : last;
    }

    /**
     * Asks for the open layer to be frozen at the next record boundary: by the ingest thread,
     * in the first put of the next record. Safe from any thread (unlike {@link #freeze}, whose
     * prev record LSN may be unknown when ingest is running).
     */
    public void requestFreeze() {
        freezeRequested = true;
    }

    /**
     * Backpressure: the first put of a new record waits while {@code max} frozen layers (0: no
     * limit) are waiting to be flushed, so memory stays bounded when the disk is slower than WAL.
     * Only for stores that have a flusher (a {@code Timeline}).
     */
    public void limitFrozenLayers(int max) {
        if (max < 0) {
            throw new IllegalArgumentException("max frozen layers must be >= 0, got " + max);
        }
        this.maxFrozenLayers = max;
    }

    private void awaitFlushCapacity() {
        synchronized (flushed) {
            while (!closed && map.frozen().size() >= maxFrozenLayers && maxFrozenLayers > 0) {
                try {
                    flushed.wait(1000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /** Number of frozen in-memory layers waiting for a flush. */
    public int frozenLayerCount() {
        return map.frozen().size();
    }

    /** Bytes held by the open in-memory layer. */
    public long openLayerBytes() {
        return map.open().size();
    }

    /**
     * The value of {@code key} at {@code lsn}, reconstructed from the newest image at or below
     * it and the records above; null if the key has no value at that LSN.
     */
    public byte[] getValue(Key key, Lsn lsn, Redo redo) {
        if (RelSizeCache.caches(key)) {
            return relationSize(key, lsn, redo);
        }
        ReconstructState state = STATE.get();
        state.reset();
        searchHistory(key, lsn.value(), state);
        byte[] value = reconstruct(timelineId, key, lsn, state, redo);
        if (key.isRelationBlock()) { // GetPage; not the status's or basebackup's metadata reads
            readAmplification.record(state.layersVisited(), state.recordCount());
        }
        return value;
    }

    /** Layers visited and records replayed by page reads of this store (not its children). */
    public ReadAmplification readAmplification() {
        return readAmplification;
    }

    /**
     * A relation-size key's value through {@link RelSizeCache}. On a miss it searches at the last
     * record LSN: that value holds down to the LSN of its newest version, so it answers {@code lsn}
     * too when that version is not above it (the common case), and it is what the cache keeps.
     */
    private byte[] relationSize(Key key, Lsn lsn, Redo redo) {
        RelSizeCache.Entry hit = sizes.lookup(key, lsn.value());
        if (hit != null) {
            return hit.value();
        }
        long stamp;
        Lsn last;
        // Together: a put counts in the stamp before it moves the write edge, so read apart
        // the stamp could include a put above the LSN searched, and the fill would hide it.
        synchronized (mapLock) {
            stamp = sizes.readStamp();
            last = writeEdge();
        }
        ReconstructState state = STATE.get();
        if (lsn.compareTo(last) <= 0) {
            state.reset();
            searchHistory(key, last.value(), state);
            long since = state.newestLsn();
            byte[] value = reconstruct(timelineId, key, last, state, redo);
            synchronized (mapLock) {
                sizes.fill(key, since, value, stamp);
            }
            if (Long.compareUnsigned(since, lsn.value()) <= 0) {
                return value;
            }
        }
        state.reset();
        searchHistory(key, lsn.value(), state);
        return reconstruct(timelineId, key, lsn, state, redo);
    }

    /** Relation forks whose size is cached (for tests and status). */
    int cachedRelationSizes() {
        return sizes.size();
    }

    /** Cached relation-size misses (forks without a size), bounded by {@link RelSizeCache#MAX_MISSES}. */
    int cachedRelationSizeMisses() {
        synchronized (mapLock) {
            return sizes.misses();
        }
    }

    /**
     * The value {@code state} describes: nothing, its base image, or the base (or a will-init
     * record) with the records above it applied by {@code redo}. Shared with compaction.
     */
    static byte[] reconstruct(TimelineId timelineId, Key key, Lsn lsn, ReconstructState state, Redo redo) {
        if (state.isEmpty()) {
            return null;
        }
        if (!state.hasRecords()) {
            return state.base();
        }
        if (state.base() == null && !state.oldestRecord().willInit()) {
            throw new StorageException(StorageException.Category.CORRUPT, "timeline " + timelineId + ": key "
                    + key.describe() + " at " + lsn + " has records but no image or will-init record below them");
        }
        return redo.apply(key, state.base(), state.recordsOldestFirst());
    }

    /** Freezes the open layer (if anything was ingested into it) so the next flush writes it. */
    public void freeze() {
        synchronized (mapLock) {
            freezeLocked();
        }
    }

    /** Freezes the open layer and writes every frozen layer; returns the new disk-consistent LSN. */
    public Lsn freezeAndFlush() {
        freeze();
        return flush();
    }

    /**
     * Writes every frozen in-memory layer as a delta file, oldest first. After each file is
     * durable the metadata is atomically rewritten with it listed and the disk-consistent
     * LSN moved to the layer's last LSN; only then does {@link #diskConsistentLsn()} move.
     */
    public Lsn flush() {
        fileLock.lock();
        try {
            checkWritable();
            List<InMemoryLayer> frozen = map.frozen();
            for (InMemoryLayer layer : frozen) {
                DeltaLayer written = layer.isEmpty() ? null : guarded(() -> writeDelta(layer), "write a delta layer");
                TimelineMetadata meta;
                synchronized (mapLock) {
                    Lsn prev = prevAtFreeze.get(layer);
                    Lsn last = layer.lsnRange().last();
                    if (prev == null || !prev.isBefore(last)) {
                        prev = Lsn.INVALID;
                    }
                    meta = new TimelineMetadata(timelineId, last, prev, map.withFlushed(layer, written).persistentNames());
                }
                // Listed (durably) before it is used: if the metadata write fails, the layer stays
                // frozen in memory, its file is removed (kept after a failed force: see
                // discardUnlisted), and the next flush writes it again.
                try {
                    guarded(() -> {
                        TimelineMetadataFile.write(fsync, dir, meta);
                        return null;
                    }, "write the timeline metadata");
                } catch (RuntimeException e) {
                    if (written != null) {
                        discardUnlisted(List.of(written), e);
                    }
                    throw e;
                }
                synchronized (mapLock) {
                    map = map.withFlushed(layer, written);
                    prevAtFreeze.remove(layer);
                }
                position.diskConsistent(meta.diskConsistentLsn(), meta.prevRecordLsn());
                durable = meta;
                durableListener.run();
                synchronized (flushed) {
                    flushed.notifyAll();
                }
                LOG.debug("flushed timeline={} layer={} disk_consistent_lsn={}", timelineId,
                        written == null ? "(empty)" : written.name(), meta.diskConsistentLsn());
            }
            return position.diskConsistentLsn();
        } finally {
            fileLock.unlock();
        }
    }

    /**
     * Creates image layers at the disk-consistent LSN for every key range where at least
     * {@link StorageConfig#imageCreationThreshold()} delta layers stack above its newest image.
     * Returns the image layers created.
     */
    public List<ImageLayer> compact(Redo redo) {
        fileLock.lock();
        try {
            checkWritable();
            if (ancestor != null) {
                // An image layer is complete for its key range, and this store's keys are only
                // those the branch changed: an image of them would hide the parent's other keys.
                // Branches are not image-compacted yet (issue 16, item 5).
                return List.of();
            }
            Lsn at = position.diskConsistentLsn();
            List<ImageLayer> created = guarded(() -> new ImageCompactor(dir, timelineId, config, map, at, redo, fsync, cache, false).run(),
                    "write image layers");
            if (!created.isEmpty()) {
                installImages(created);
                LOG.info("compacted timeline={} image_layers={} lsn={}", timelineId, created.size(), at);
            }
            return created;
        } finally {
            fileLock.unlock();
        }
    }

    /**
     * L0 -> L1 compaction ({@link Level0Compactor}; decision 0033): once
     * {@link StorageConfig#compactionThreshold()} L0 delta layers stack, merges the oldest run of
     * them into L1 delta layers cut by key range. The new files are durable and the metadata
     * listing them instead of the L0 layers is durable before the layer map swaps (readers keep
     * their snapshot; one that meets a retired L0 searches again) and before the L0 files are
     * deleted. Returns the L1 layers written (empty: nothing to do).
     */
    public List<DeltaLayer> compactLevel0() {
        return compactLevel0(List.of());
    }

    /**
     * As {@link #compactLevel0()}, with no run spanning one of {@code boundaries} (the GC cutoff
     * and the children's branch points: {@link Level0Compactor#plan}), so an L1 layer never mixes
     * layers GC may remove with layers a branch point or the cutoff keeps.
     */
    public List<DeltaLayer> compactLevel0(List<Lsn> boundaries) {
        fileLock.lock();
        try {
            checkWritable();
            Level0Compactor.Plan plan = Level0Compactor.plan(map, config.compactionThreshold(), boundaries);
            if (plan == null) {
                return List.of();
            }
            long started = System.nanoTime();
            List<DeltaLayer> written = guarded(() -> new Level0Compactor(dir, timelineId, config, fsync, cache).write(plan),
                    "write L1 delta layers");
            java.util.Set<LayerName> replaced = new java.util.HashSet<>();
            plan.level0().forEach(d -> replaced.add(d.name()));
            TimelineMetadata meta;
            IngestPosition.Snapshot at = position.snapshot();
            synchronized (mapLock) {
                meta = new TimelineMetadata(timelineId, at.diskConsistentLsn(), at.diskConsistentPrevRecordLsn(),
                        map.withCompacted(replaced, written).persistentNames());
            }
            try {
                guarded(() -> {
                    TimelineMetadataFile.write(fsync, dir, meta);
                    return null;
                }, "write the timeline metadata");
            } catch (RuntimeException e) {
                discardUnlisted(written, e);
                throw e;
            }
            synchronized (mapLock) {
                map = map.withCompacted(replaced, written);
            }
            durable = meta;
            level0Compactions++;
            level0Compacted += plan.level0().size();
            durableListener.run();
            long bytes = 0;
            for (DeltaLayer d : plan.level0()) {
                bytes += d.handle().sizeBytes();
                d.handle().retire(); // a reader holding the old snapshot searches again (LayerRetiredException)
            }
            LOG.info("compacted timeline={} level0_layers={} into level1_layers={} lsn_range={} level0_bytes={} in {} ms",
                    timelineId, plan.level0().size(), written.size(), plan.lsns(), bytes,
                    (System.nanoTime() - started) / 1_000_000);
            return written;
        } finally {
            fileLock.unlock();
        }
    }

    /** L0 compaction passes that wrote L1 layers since the store opened. */
    public long level0Compactions() {
        return level0Compactions;
    }

    /** L0 layers those passes replaced. */
    public long level0LayersCompacted() {
        return level0Compacted;
    }

    /**
     * Lists freshly written image layers: the metadata naming them is made durable first (on
     * failure the files are discarded and nothing lists them), then the layer map takes them.
     * Called with {@code fileLock} held, the disk-consistent LSN unchanged since the images were
     * written at or below it.
     */
    private void installImages(List<ImageLayer> created) {
        TimelineMetadata meta;
        IngestPosition.Snapshot at = position.snapshot();
        synchronized (mapLock) {
            LayerMap next = map;
            for (ImageLayer image : created) {
                next = next.withImage(image);
            }
            meta = new TimelineMetadata(timelineId, at.diskConsistentLsn(), at.diskConsistentPrevRecordLsn(),
                    next.persistentNames());
        }
        try {
            guarded(() -> {
                TimelineMetadataFile.write(fsync, dir, meta);
                return null;
            }, "write the timeline metadata");
        } catch (RuntimeException e) {
            discardUnlisted(created, e);
            throw e;
        }
        synchronized (mapLock) {
            for (ImageLayer image : created) {
                map = map.withImage(image);
            }
        }
        durable = meta;
        durableListener.run();
    }

    /**
     * What one GC pass did: the image layers it wrote at the cutoff, the layer files it removed
     * (from the layer map, the metadata and local disk; object storage follows after the next
     * index, {@link TimelineUploader}) and their bytes.
     */
    public record GcOutcome(List<LayerName> imagesCreated, List<LayerName> removed, long bytesRemoved) {
    }

    /**
     * Removes the layer files no read at or above {@code cutoff}, or at a {@code retain} LSN,
     * needs ({@link GcPlanner}). A root timeline first writes image layers at the cutoff where at
     * least {@link StorageConfig#imageCreationThreshold()} delta layers below it stack above the
     * newest image (what makes those deltas removable); a branch writes none (decision 0022). The
     * metadata without the removed layers is durable before any file is deleted. The caller has
     * raised and persisted the GC cutoff first, so no new read can need what goes.
     */
    public GcOutcome gc(Lsn cutoff, List<Lsn> retain, Redo redo) {
        fileLock.lock();
        try {
            checkWritable();
            List<LayerName> createdNames = new java.util.ArrayList<>();
            if (ancestor == null && cutoff.isValid() && cutoff.compareTo(position.diskConsistentLsn()) <= 0) {
                List<ImageLayer> created = guarded(() -> new ImageCompactor(dir, timelineId, config, map, cutoff, redo, fsync,
                        cache, true).run(), "write image layers at the GC cutoff");
                if (!created.isEmpty()) {
                    installImages(created);
                    created.forEach(i -> createdNames.add(i.name()));
                }
            }
            LayerMap before = map;
            java.util.Set<LayerName> removable = GcPlanner.removable(before, cutoff, retain);
            if (removable.isEmpty()) {
                return new GcOutcome(createdNames, List.of(), 0);
            }
            TimelineMetadata meta;
            IngestPosition.Snapshot at = position.snapshot();
            synchronized (mapLock) {
                meta = new TimelineMetadata(timelineId, at.diskConsistentLsn(), at.diskConsistentPrevRecordLsn(),
                        map.without(removable).persistentNames());
            }
            guarded(() -> {
                TimelineMetadataFile.write(fsync, dir, meta);
                return null;
            }, "write the timeline metadata");
            synchronized (mapLock) {
                map = map.without(removable);
            }
            durable = meta;
            durableListener.run();
            long bytes = 0;
            List<LayerName> removed = new java.util.ArrayList<>();
            for (DeltaLayer d : before.deltas()) {
                if (removable.contains(d.name())) {
                    bytes += d.handle().sizeBytes();
                    d.handle().retire();
                    removed.add(d.name());
                }
            }
            for (ImageLayer i : before.images()) {
                if (removable.contains(i.name())) {
                    bytes += i.handle().sizeBytes();
                    i.handle().retire();
                    removed.add(i.name());
                }
            }
            LOG.info("gc timeline={} cutoff={} retain={} removed {} layers ({} bytes), wrote {} image layers", timelineId,
                    cutoff, retain, removed.size(), bytes, createdNames.size());
            return new GcOutcome(createdNames, removed, bytes);
        } finally {
            fileLock.unlock();
        }
    }

    /** Bytes of this timeline's own layer files, local or only in object storage. */
    public long layerBytes() {
        LayerMap m = map;
        long total = 0;
        for (DeltaLayer d : m.deltas()) {
            total += d.handle().sizeBytes();
        }
        for (ImageLayer i : m.images()) {
            total += i.handle().sizeBytes();
        }
        return total;
    }

    @Override
    public void close() {
        closed = true;
        synchronized (flushed) {
            flushed.notifyAll();
        }
        fileLock.lock();
        try {
            LayerMap m = map;
            m.deltas().forEach(DeltaLayer::close);
            m.images().forEach(ImageLayer::close);
        } finally {
            fileLock.unlock();
        }
    }

    private void freezeLocked() {
        InMemoryLayer open = map.open();
        IngestPosition.Snapshot at = position.snapshot();
        Lsn edge = writeEdge();
        // Nothing ingested since this layer started: there is nothing to freeze.
        if (Long.compareUnsigned(edge.value(), open.lsnStart()) < 0) {
            return;
        }
        Lsn end = edge.plus(1);
        // The start of the record ending at the edge is known only once ingest reported it
        // complete: true on the ingest thread at a record's first put, and once ingest stopped.
        Lsn prev = at.lastRecordLsn().equals(edge) ? at.lastRecordStart() : Lsn.INVALID;
        if (!prev.isBefore(edge)) {
            prev = Lsn.INVALID;
        }
        open.freeze(end);
        prevAtFreeze.put(open, prev);
        map = map.withOpenFrozen(new InMemoryLayer(end));
    }

    private void checkWritable() {
        FsyncFailedException f = fsyncFailure;
        if (f != null) {
            throw new StorageException(StorageException.Category.FSYNC_FAILED, "timeline " + timelineId
                    + ": storage stopped since a failed fsync (" + f.getMessage() + "); disk-consistent LSN stays "
                    + position.diskConsistentLsn() + "; restart the pageserver to recover from the layers on disk", f);
        }
    }

    /**
     * Runs a file write, turning its I/O failure into a categorised {@link StorageException}: a
     * failed force stops the store for good (FSYNC_FAILED), any other I/O failure is WRITE_FAILED.
     */
    private <T> T guarded(Supplier<T> write, String what) {
        try {
            return write.get();
        } catch (UncheckedIOException e) {
            FsyncFailedException f = fsyncCause(e);
            if (f != null) {
                if (fsyncFailure == null) {
                    fsyncFailure = f;
                    LOG.error("timeline={} storage stopped: {}; disk_consistent_lsn stays {} until a restart", timelineId,
                            f.getMessage(), position.diskConsistentLsn());
                }
                throw new StorageException(StorageException.Category.FSYNC_FAILED, "timeline " + timelineId + ": could not "
                        + what + ": " + f.getMessage() + "; disk-consistent LSN stays " + position.diskConsistentLsn(), f);
            }
            throw new StorageException(StorageException.Category.WRITE_FAILED, "timeline " + timelineId + ": could not "
                    + what + " in " + dir + ": " + rootMessage(e) + "; disk-consistent LSN stays " + position.diskConsistentLsn()
                    + ", the data stays in memory and is written again", e);
        }
    }

    private static FsyncFailedException fsyncCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof FsyncFailedException f) {
                return f;
            }
        }
        return null;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage();
    }

    /**
     * After a failed metadata write: the files written for it are listed nowhere, so they are
     * removed; unless a force failed. The metadata is renamed into place before the directory is
     * forced, so after a failed force the metadata on disk may list them: they are kept, the
     * store stops writing (decision 0010), and the next open keeps what the metadata on disk
     * lists and removes the rest.
     */
    private static void discardUnlisted(List<? extends Layer> written, RuntimeException failure) {
        if (failure instanceof StorageException e && e.category() == StorageException.Category.FSYNC_FAILED) {
            LOG.warn("a force failed while listing {} new layer file(s); they stay until the next open decides",
                    written.size());
            return;
        }
        written.forEach(LayerStore::discard);
    }

    /** Closes and deletes a layer file that was written but will never be listed. */
    static void discard(Layer layer) {
        Path path = layer instanceof DeltaLayer d ? d.path() : ((ImageLayer) layer).path();
        try {
            if (layer instanceof DeltaLayer d) {
                d.close();
            } else {
                ((ImageLayer) layer).close();
            }
            Files.deleteIfExists(path);
        } catch (IOException | RuntimeException e) {
            LOG.warn("could not remove unlisted layer file {}: {} (a restart removes it)", path, e.toString());
        }
    }

    private DeltaLayer writeDelta(InMemoryLayer layer) {
        try (DeltaLayerWriter w = new DeltaLayerWriter(dir, timelineId, layer.keyRange(), layer.lsnRange(), fsync)) {
            layer.forEachEntry(w::add);
            return w.finish(cache);
        }
    }
}
