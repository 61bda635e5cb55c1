package dev.strata.pageserver.timeline;

import dev.strata.pageserver.ingest.TimelineBase;
import dev.strata.pageserver.initdb.InitdbImport;
import dev.strata.pageserver.layer.LayerCache;
import dev.strata.pageserver.layer.LayerFileHandle;
import dev.strata.pageserver.layer.LayerName;
import dev.strata.pageserver.remote.IndexPart;
import dev.strata.pageserver.remote.RemoteLayout;
import dev.strata.remote.Generation;
import dev.strata.remote.RemoteStorage;
import dev.strata.pgcore.fs.CrashSafe;
import dev.strata.pgcore.fs.FileTrees;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresBinaries;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every timeline under a pageserver's data directory: {@code <data>/timelines/<id>/} holds
 * {@code timeline.conf} and {@code layers/} (the {@link LayerStore}). Creates (from initdb
 * output, or empty at a WAL start LSN), loads at start, deletes. A timeline is prepared in
 * {@code <id>.creating} and renamed into place when complete, so a crash mid-creation leaves no
 * half timeline (the leftover is removed at the next start); a delete renames to
 * {@code <id>.deleting} before removing files, for the same reason.
 */
public final class TimelineManager implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(TimelineManager.class);
    static final String CREATING_SUFFIX = ".creating";
    static final String DELETING_SUFFIX = ".deleting";
    static final String LAYERS = "layers";

    /**
     * What to create.
     *
     * @param startLsn      for a WAL-only timeline: where its WAL starts (a segment start); null with initdb
     * @param initdb        run initdb and import its output (the timeline starts at initdb's end)
     * @param dataChecksums initdb with {@code --data-checksums}; for WAL-only: whether the cluster has them
     * @param superuserPassword with initdb: the password of the {@code postgres} superuser (SCRAM),
     *                      which computes of this timeline log in with; null leaves it without one
     *                      (a compute then cannot authenticate it: tests of the storage only).
     *                      Used once, never stored by the pageserver.
     */
    public record CreateRequest(TimelineId id, Lsn startLsn, boolean initdb, boolean dataChecksums,
                                List<WalSource> walSources, String superuserPassword) {

        public CreateRequest(TimelineId id, Lsn startLsn, boolean initdb, boolean dataChecksums,
                             List<WalSource> walSources) {
            this(id, startLsn, initdb, dataChecksums, walSources, null);
        }

        public CreateRequest {
            if (superuserPassword != null && (superuserPassword.isEmpty() || superuserPassword.length() > 1024
                    || superuserPassword.indexOf('\n') >= 0 || superuserPassword.indexOf('\r') >= 0)) {
                throw new IllegalArgumentException("timeline " + id + ": the superuser password must be one line of "
                        + "1 to 1024 characters");
            }
            if (superuserPassword != null && !initdb) {
                throw new IllegalArgumentException("timeline " + id + ": a superuser password only applies with initdb");
            }
            if (id == null) {
                throw new IllegalArgumentException("timeline id is missing");
            }
            if (initdb == (startLsn != null)) {
                throw new IllegalArgumentException("timeline " + id + ": give either initdb or a start LSN, not "
                        + (initdb ? "both" : "neither"));
            }
            if (startLsn != null && (!startLsn.isValid() || startLsn.segmentOffset(16 << 20) != 0)) {
                throw new IllegalArgumentException("timeline " + id + ": start LSN " + startLsn
                        + " must be a WAL segment start (16 MiB segments)");
            }
            walSources = walSources == null ? List.of() : List.copyOf(walSources);
        }
    }

    private final Path root;
    private final StorageConfig storage;
    private final Timeline.Options options;
    private final EventLoopGroup group;
    private final Map<TimelineId, Timeline> timelines = new ConcurrentHashMap<>();
    private final Map<TimelineId, Boolean> busy = new ConcurrentHashMap<>();
    /** Held while a branch registers under its parent and while a delete or detach checks for branches. */
    private final Object topology = new Object();
    /** Object storage for history (decision 0016); null: local disk only. */
    private final RemoteTimeline remote;
    /** Every timeline's local layer files, with the eviction budget (docs/pageserver.md, "Layer cache"). */
    private final LayerCache cache;

    public TimelineManager(Path dataDir, StorageConfig storage, Timeline.Options options, EventLoopGroup group) {
        this(dataDir, storage, options, group, null);
    }

    /**
     * With {@code remote} (may be null), every timeline's layers and index are uploaded to object
     * storage in the background, and {@link #attach} can bring a timeline back from there.
     */
    public TimelineManager(Path dataDir, StorageConfig storage, Timeline.Options options, EventLoopGroup group,
                           RemoteTimeline remote) {
        this.remote = remote;
        this.cache = new LayerCache(storage.layerCacheBudgetBytes());
        this.root = dataDir.resolve("timelines");
        this.storage = storage;
        this.options = options;
        this.group = group;
        try {
            Files.createDirectories(root);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + root, e);
        }
    }

    /**
     * Loads every timeline found on disk and activates it, ancestors before their branches; one
     * that fails to load (or whose ancestor is not here) is logged and left out (its files stay
     * for inspection).
     */
    public void loadAll() {
        List<Path> dirs;
        try (Stream<Path> s = Files.list(root)) {
            dirs = s.sorted(Comparator.naturalOrder()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + root, e);
        }
        Map<TimelineId, TimelineConfig> configs = new LinkedHashMap<>();
        Map<TimelineId, Path> where = new HashMap<>();
        for (Path d : dirs) {
            String name = d.getFileName().toString();
            if (name.endsWith(CREATING_SUFFIX) || name.endsWith(DELETING_SUFFIX)) {
                log.info("removing leftover of an interrupted create or delete: {}", d);
                FileTrees.deleteRecursively(d);
                continue;
            }
            TimelineId id;
            try {
                id = TimelineId.parse(name);
            } catch (IllegalArgumentException e) {
                log.warn("ignoring {}: not a timeline directory name", d);
                continue;
            }
            try {
                configs.put(id, TimelineConfig.read(d));
                where.put(id, d);
            } catch (RuntimeException e) {
                log.error("timeline={} cannot be loaded: {}", id, e.getMessage());
            }
        }
        // Ancestors first: each pass loads the timelines whose ancestor is loaded (or that have none).
        boolean progress = true;
        while (progress && !configs.isEmpty()) {
            progress = false;
            for (var it = configs.entrySet().iterator(); it.hasNext(); ) {
                var e = it.next();
                TimelineConfig config = e.getValue();
                if (config.isBranch() && !timelines.containsKey(config.ancestorId())) {
                    continue;
                }
                it.remove();
                progress = true;
                TimelineId id = e.getKey();
                Path d = where.get(id);
                LayerStore store;
                try {
                    store = LayerStore.open(d.resolve(LAYERS), storage, cache, remoteLayers(id));
                } catch (RuntimeException ex) {
                    log.error("timeline={} cannot be loaded: {}", id, ex.getMessage());
                    continue;
                }
                if (config.isBranch()) {
                    store.ancestor(new LayerStore.Ancestor(timelines.get(config.ancestorId()).store(), config.ancestorLsn()));
                }
                Timeline t = new Timeline(d, config, store, group, options);
                withUploader(t, null);
                timelines.put(id, t);
                t.branchPointsSource(() -> branchPointsOf(id));
                t.activate();
            }
        }
        for (TimelineConfig c : configs.values()) {
            log.error("timeline={} cannot be loaded: its ancestor timeline {} is not on this pageserver (attach or "
                    + "restore the ancestor first)", c.id(), c.ancestorId());
        }
        log.info("loaded {} timelines from {}", timelines.size(), root);
    }

    public Timeline create(CreateRequest req) {
        TimelineId id = req.id();
        if (timelines.containsKey(id) || busy.putIfAbsent(id, Boolean.TRUE) != null) {
            throw new TimelineException(TimelineException.Kind.CONFLICT, "timeline " + id + " already exists");
        }
        Path staging = root.resolve(id + CREATING_SUFFIX);
        Path target = root.resolve(id.toString());
        try {
            if (Files.exists(target)) {
                throw new TimelineException(TimelineException.Kind.CONFLICT, "timeline " + id + " already exists on disk");
            }
            FileTrees.deleteRecursively(staging);
            Files.createDirectories(staging);
            TimelineConfig config;
            LayerStore store;
            if (req.initdb()) {
                Path pgdata = staging.resolve("initdb");
                InitdbRunner.run(PostgresBinaries.resolve(), pgdata, req.dataChecksums(), req.superuserPassword());
                InitdbImport.Inspected what = InitdbImport.inspect(pgdata);
                store = LayerStore.create(staging.resolve(LAYERS), id, what.checkpointLsn(), storage);
                try {
                    InitdbImport.importInto(pgdata, what, store);
                    store.position().recordIngested(what.endLsn(), what.checkpointLsn());
                    store.freezeAndFlush();
                } catch (RuntimeException e) {
                    store.close();
                    throw e;
                }
                FileTrees.deleteRecursively(pgdata);
                config = new TimelineConfig(id, what.endLsn(), TimelineBase.IMPORTED, what.dataChecksums(), req.walSources(),
                        null, Lsn.INVALID, what.checkpointLsn());
            } else {
                store = LayerStore.create(staging.resolve(LAYERS), id, req.startLsn(), storage);
                config = new TimelineConfig(id, req.startLsn(), TimelineBase.WAL_ONLY, req.dataChecksums(), req.walSources());
            }
            store.close();
            config.write(staging);
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            CrashSafe.fsyncDirectory(root);
            Timeline t = new Timeline(target, config, LayerStore.open(target.resolve(LAYERS), storage, cache, null), group,
                    options);
            withUploader(t, null);
            timelines.put(id, t);
            t.branchPointsSource(() -> branchPointsOf(id));
            t.activate();
            log.info("created timeline={} start_lsn={} base={}", id, config.startLsn(), config.base());
            return t;
        } catch (UnsupportedOperationException e) {
            FileTrees.deleteRecursively(staging);
            throw new TimelineException(TimelineException.Kind.UNSUPPORTED, "timeline " + id + ": " + e.getMessage(), e);
        } catch (IOException e) {
            FileTrees.deleteRecursively(staging);
            throw new UncheckedIOException("cannot create timeline " + id + " in " + target, e);
        } catch (RuntimeException e) {
            FileTrees.deleteRecursively(staging);
            throw e;
        } finally {
            busy.remove(id);
        }
    }

    /** How long {@link #branch} waits for the parent to ingest WAL up to the branch LSN. */
    public static final Duration BRANCH_WAIT = Duration.ofSeconds(30);

    /**
     * Creates timeline {@code child} as a branch of {@code parent} at {@code at} (null: the
     * parent's last record LSN) and activates it, streaming its own WAL from {@code walSources}
     * (may be empty: set later). A metadata operation: nothing of the parent is copied, the
     * child reads the parent's history below the branch LSN (docs/pageserver.md, "Branches").
     *
     * <p>Waits up to {@link #BRANCH_WAIT} for the parent to ingest WAL up to {@code at}. The
     * branch LSN is {@code at} when the pageserver knows the start of the record ending there
     * (the parent's last record, its disk-consistent LSN, its start, the end of a transaction);
     * otherwise the newest such record end below {@code at}: no transaction ends in between, so
     * the child has the same committed data. The child's {@link Timeline#ancestor()} says which;
     * its WAL (and the safekeepers' timeline) starts there.
     *
     * @throws TimelineException NOT_FOUND for an unknown parent; CONFLICT for an existing child
     *         id; LSN_OUT_OF_RANGE for {@code at} below the parent's start or GC cutoff, or beyond
     *         what the parent ingested within the wait; BAD_REQUEST for a child equal to its parent
     */
    public Timeline branch(TimelineId child, TimelineId parent, Lsn at, List<WalSource> walSources) {
        return branch(child, parent, at, walSources, BRANCH_WAIT);
    }

    /** As {@link #branch(TimelineId, TimelineId, Lsn, List)}, waiting at most {@code wait} for the parent. */
    public Timeline branch(TimelineId child, TimelineId parent, Lsn at, List<WalSource> walSources, Duration wait) {
        if (child == null || parent == null) {
            throw new TimelineException(TimelineException.Kind.BAD_REQUEST, "a branch needs a timeline id and a parent");
        }
        if (child.equals(parent)) {
            throw new TimelineException(TimelineException.Kind.BAD_REQUEST, "timeline " + child
                    + " cannot be a branch of itself");
        }
        if (at != null && !at.isValid()) {
            throw new TimelineException(TimelineException.Kind.BAD_REQUEST, "timeline " + child + ": branch LSN " + at
                    + " is not a valid LSN");
        }
        List<WalSource> sources = walSources == null ? List.of() : List.copyOf(walSources);
        if (timelines.containsKey(child) || busy.putIfAbsent(child, Boolean.TRUE) != null) {
            throw new TimelineException(TimelineException.Kind.CONFLICT, "timeline " + child + " already exists");
        }
        Path staging = root.resolve(child + CREATING_SUFFIX);
        Path target = root.resolve(child.toString());
        long started = System.nanoTime();
        try {
            Timeline p = timelines.get(parent);
            if (p == null) {
                throw new TimelineException(TimelineException.Kind.NOT_FOUND, "timeline " + child + ": parent timeline "
                        + parent + " does not exist");
            }
            if (Files.exists(target)) {
                throw new TimelineException(TimelineException.Kind.CONFLICT, "timeline " + child + " already exists on disk");
            }
            Timeline.RecordEnd point = branchPoint(child, p, at, wait);
            FileTrees.deleteRecursively(staging);
            Files.createDirectories(staging);
            LayerStore.createEmpty(staging.resolve(LAYERS), child, point.lsn(), point.prev());
            TimelineConfig pc = p.config();
            TimelineConfig config = new TimelineConfig(child, point.lsn(), pc.base(), pc.dataChecksums(), sources, parent,
                    point.lsn(), point.prev());
            config.write(staging);
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            CrashSafe.fsyncDirectory(root);
            LayerStore store = LayerStore.open(target.resolve(LAYERS), storage, cache, null);
            store.ancestor(new LayerStore.Ancestor(p.store(), point.lsn()));
            Timeline t = new Timeline(target, config, store, group, options);
            withUploader(t, null);
            synchronized (topology) {
                if (timelines.get(parent) != p) {
                    t.shutdown(false);
                    FileTrees.deleteRecursively(target);
                    throw new TimelineException(TimelineException.Kind.NOT_FOUND, "timeline " + child + ": parent timeline "
                            + parent + " was deleted or detached while the branch was created");
                }
                // GC raises the parent's cutoff under this lock after reading the children: either it
                // saw this child (and keeps its branch point) or the cutoff it set is checked here.
                if (point.lsn().isBefore(p.gcCutoffLsn())) {
                    t.shutdown(false);
                    FileTrees.deleteRecursively(target);
                    throw new TimelineException(TimelineException.Kind.LSN_OUT_OF_RANGE, "timeline " + child
                            + ": the branch point " + point.lsn() + " is below the parent's GC cutoff " + p.gcCutoffLsn()
                            + " (GC ran while the branch was created)");
                }
                timelines.put(child, t);
                t.branchPointsSource(() -> branchPointsOf(child));
            }
            t.activate();
            log.info("branched timeline={} from parent={} at lsn={} (requested {}) prev={} in {} ms", child, parent,
                    point.lsn(), at == null ? "last record" : at, point.prev(), (System.nanoTime() - started) / 1_000_000);
            return t;
        } catch (IOException e) {
            FileTrees.deleteRecursively(staging);
            throw new UncheckedIOException("cannot create branch " + child + " in " + target, e);
        } catch (RuntimeException e) {
            FileTrees.deleteRecursively(staging);
            throw e;
        } finally {
            busy.remove(child);
        }
    }

    /** Where a branch of {@code p} at {@code at} starts, after waiting for the parent's WAL; see {@link #branch}. */
    private static Timeline.RecordEnd branchPoint(TimelineId child, Timeline p, Lsn at, Duration wait) {
        String what = "timeline " + child + ": cannot branch from " + p.id() + " at " + (at == null ? "its last record" : at);
        Timeline.RecordEnd lastPoint = null;
        if (at == null) {
            // The last record and its start, read together: the parent may ingest on meanwhile.
            Timeline.LastRecord last = p.lastRecord();
            at = last.lsn();
            if (last.prev().isValid()) {
                lastPoint = new Timeline.RecordEnd(last.lsn(), last.prev());
            }
        }
        Lsn oldest = p.config().startLsn();
        if (at.isBefore(oldest)) {
            throw new TimelineException(TimelineException.Kind.LSN_OUT_OF_RANGE, what + ": it is below the parent's start "
                    + oldest + "; its history begins there");
        }
        Lsn gc = p.gcCutoffLsn();
        if (at.isBefore(gc)) {
            throw new TimelineException(TimelineException.Kind.LSN_OUT_OF_RANGE, what + ": it is below the parent's GC "
                    + "cutoff " + gc + "; history below it may be gone");
        }
        if (at.isAfter(p.lastRecordLsn()) && p.config().walSources().isEmpty()) {
            throw new TimelineException(TimelineException.Kind.LSN_OUT_OF_RANGE, what + ": the parent's last record LSN"
                    + " is " + p.lastRecordLsn() + " and it has no WAL source to reach further");
        }
        try {
            p.awaitLsn(at, wait);
        } catch (TimelineException e) {
            if (e.kind() == TimelineException.Kind.WAIT_TIMEOUT) {
                throw new TimelineException(TimelineException.Kind.LSN_OUT_OF_RANGE, what + ": the parent reached only "
                        + p.lastRecordLsn() + " in " + wait.toMillis() + " ms", e);
            }
            throw e;
        }
        Timeline.RecordEnd point = lastPoint != null ? lastPoint : p.recordEndAtOrBelow(at);
        if (point == null) {
            throw new TimelineException(TimelineException.Kind.BAD_REQUEST, what + ": no record end at or below it whose "
                    + "start is known (no transaction ended between the parent's start " + oldest + " and it); branch at"
                    + " the parent's last record LSN instead");
        }
        if (point.lsn().isBefore(gc)) {
            throw new TimelineException(TimelineException.Kind.LSN_OUT_OF_RANGE, what + ": the branch point " + point.lsn()
                    + " is below the parent's GC cutoff " + gc);
        }
        return point;
    }

    /** Timelines that are branches of {@code id}, sorted. */
    /** The LSNs where the children of {@code id} branched (L0 compaction keeps its runs on one side of each). */
    private List<Lsn> branchPointsOf(TimelineId id) {
        List<Lsn> points = new ArrayList<>();
        for (Timeline c : timelines.values()) {
            if (id.equals(c.config().ancestorId())) {
                points.add(c.config().ancestorLsn());
            }
        }
        return points;
    }

    public List<TimelineId> childrenOf(TimelineId id) {
        List<TimelineId> out = new ArrayList<>();
        for (Timeline t : timelines.values()) {
            if (id.equals(t.config().ancestorId())) {
                out.add(t.id());
            }
        }
        out.sort(Comparator.naturalOrder());
        return out;
    }

    private void refuseIfParent(TimelineId id, String what) {
        List<TimelineId> children = childrenOf(id);
        if (!children.isEmpty()) {
            throw new TimelineException(TimelineException.Kind.CONFLICT, "timeline " + id + " cannot be " + what + ": it has "
                    + children.size() + " branch" + (children.size() == 1 ? "" : "es") + " " + children
                    + " (delete " + (children.size() == 1 ? "it" : "them") + " first)");
        }
    }

    private void withUploader(Timeline t, IndexPart seed) {
        if (remote != null) {
            t.uploadWith(new TimelineUploader(t.config(), t.directory().resolve(LAYERS), t.store(), remote, seed));
        }
    }

    /** The remote storage this manager uploads to, or null. */
    public RemoteTimeline remote() {
        return remote;
    }

    /**
     * Where a loaded timeline's layers are in object storage, for those evicted from local disk:
     * the newest index at or below our generation, read only if a listed layer is missing.
     */
    private RemoteLayers remoteLayers(TimelineId id) {
        if (remote == null) {
            return null;
        }
        return new RemoteLayers() {
            private Map<LayerName, LayerFileHandle.Download> known;

            @Override
            public LayerFileHandle.Download find(LayerName name) {
                if (known == null) {
                    IndexPart index = RemoteAttach.newestIndex(remote, id);
                    known = RemoteAttach.downloads(remote.storage(), id, index.layers());
                }
                return known.get(name);
            }
        };
    }

    /** The local layer files of every timeline, and their budget. */
    public LayerCache layerCache() {
        return cache;
    }

    /**
     * Brings a timeline this pageserver does not have back from object storage (decision 0016):
     * reads the newest index of a generation at or below ours and nothing else, writes the
     * metadata and {@code timeline.conf} as a create would, and activates the timeline. Its
     * layers stay in S3 until a read needs one (downloaded on demand, then kept in the layer
     * cache); ingest resumes after the index's disk-consistent LSN (the remote-consistent LSN)
     * from {@code walSources}, and the uploader writes our own generation's index (referencing
     * the layers where they are). Like a create, everything is prepared in {@code <id>.creating}
     * and renamed into place when complete.
     */
    public Timeline attach(TimelineId id, List<WalSource> walSources) {
        if (remote == null) {
            throw new TimelineException(TimelineException.Kind.UNSUPPORTED, "timeline " + id
                    + ": this pageserver has no remote storage to attach from");
        }
        if (timelines.containsKey(id) || busy.putIfAbsent(id, Boolean.TRUE) != null) {
            throw new TimelineException(TimelineException.Kind.CONFLICT, "timeline " + id + " already exists");
        }
        Path staging = root.resolve(id + CREATING_SUFFIX);
        Path target = root.resolve(id.toString());
        try {
            if (Files.exists(target)) {
                throw new TimelineException(TimelineException.Kind.CONFLICT, "timeline " + id + " already exists on disk");
            }
            FileTrees.deleteRecursively(staging);
            Path layers = staging.resolve(LAYERS);
            Files.createDirectories(layers);
            long started = System.nanoTime();
            IndexPart index = RemoteAttach.newestIndex(remote, id);
            Timeline parent = null;
            if (index.ancestorTimelineId() != null) {
                parent = timelines.get(index.ancestorTimelineId());
                if (parent == null) {
                    throw new TimelineException(TimelineException.Kind.NOT_FOUND, "timeline " + id + " is a branch of "
                            + index.ancestorTimelineId() + " at " + index.ancestorLsn() + ", which is not on this "
                            + "pageserver: attach the ancestor first");
                }
            }
            TimelineMetadataFile.write(layers, new TimelineMetadata(id, index.diskConsistentLsn(), index.prevRecordLsn(),
                    List.copyOf(index.layers().keySet())));
            TimelineConfig config = new TimelineConfig(id, index.startLsn(), index.base(), index.dataChecksums(),
                    walSources == null ? List.of() : walSources, index.ancestorTimelineId(), index.ancestorLsn(),
                    index.startPrevRecordLsn(), Retention.DEFAULTS, index.gcCutoffLsn());
            config.write(staging);
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            CrashSafe.fsyncDirectory(root);
            Map<LayerName, LayerFileHandle.Download> where = RemoteAttach.downloads(remote.storage(), id, index.layers());
            LayerStore store;
            try {
                store = LayerStore.open(target.resolve(LAYERS), storage, cache, where::get);
            } catch (RuntimeException e) {
                FileTrees.deleteRecursively(target);
                throw e;
            }
            if (parent != null) {
                store.ancestor(new LayerStore.Ancestor(parent.store(), index.ancestorLsn()));
            }
            Timeline t = new Timeline(target, config, store, group, options);
            withUploader(t, index);
            timelines.put(id, t);
            t.branchPointsSource(() -> branchPointsOf(id));
            t.activate();
            log.info("attached timeline={} from generation={} (ours {}) layers={} remote_consistent_lsn={} in {} ms "
                    + "(layers are downloaded when read)", id, index.generation(), remote.generation(),
                    index.layers().size(), index.diskConsistentLsn(), (System.nanoTime() - started) / 1_000_000);
            return t;
        } catch (IOException e) {
            FileTrees.deleteRecursively(staging);
            throw new UncheckedIOException("cannot attach timeline " + id + " in " + target, e);
        } catch (RuntimeException e) {
            FileTrees.deleteRecursively(staging);
            throw e;
        } finally {
            busy.remove(id);
        }
    }

    /**
     * Hands a timeline back to object storage: stops ingest, flushes what is in memory, gives the
     * uploader a bounded while to put it in S3, then removes the local directory. Needs remote
     * storage (without it the history would be gone). History not in S3 by then is still in the
     * safekeepers' WAL: they keep everything above the remote-consistent LSN this pageserver
     * reported, and the next attach resumes ingest there. Returns the remote-consistent LSN.
     */
    public Lsn detach(TimelineId id) {
        if (remote == null) {
            throw new TimelineException(TimelineException.Kind.UNSUPPORTED, "timeline " + id + ": this pageserver has no "
                    + "remote storage; detaching would lose its history (delete it instead if that is meant)");
        }
        if (busy.putIfAbsent(id, Boolean.TRUE) != null) {
            throw new TimelineException(TimelineException.Kind.CONFLICT, "timeline " + id + " is being created or deleted");
        }
        try {
            Timeline t = get(id);
            synchronized (topology) {
                refuseIfParent(id, "detached");
                timelines.remove(id);
            }
            t.shutdown(true);
            Lsn remoteConsistent = t.remoteConsistentLsn();
            Lsn diskConsistent = t.store().diskConsistentLsn();
            timelines.remove(id);
            Path dead = root.resolve(id + DELETING_SUFFIX);
            Files.move(t.directory(), dead, StandardCopyOption.ATOMIC_MOVE);
            CrashSafe.fsyncDirectory(root);
            FileTrees.deleteRecursively(dead);
            if (remoteConsistent.compareTo(diskConsistent) < 0) {
                log.warn("detached timeline={} with remote_consistent_lsn={} below disk_consistent_lsn={}: the rest is "
                        + "re-ingested from the safekeepers at the next attach", id, remoteConsistent, diskConsistent);
            } else {
                log.info("detached timeline={} remote_consistent_lsn={}", id, remoteConsistent);
            }
            return remoteConsistent;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot detach timeline " + id, e);
        } finally {
            busy.remove(id);
        }
    }

    public Timeline get(TimelineId id) {
        Timeline t = timelines.get(id);
        if (t == null) {
            throw new TimelineException(TimelineException.Kind.NOT_FOUND, "timeline " + id + " does not exist");
        }
        return t;
    }

    public List<Timeline> list() {
        List<Timeline> all = new ArrayList<>(timelines.values());
        all.sort(Comparator.comparing(Timeline::id));
        return all;
    }

    /** What {@link #delete} removed: the local directory, and the timeline's objects in S3. */
    public record Deleted(TimelineId id, int remoteLayers, int remoteIndexes, long remoteBytes, String remoteNote) {
    }

    /**
     * Stops the timeline (no flush: its files go), removes its directory and then, with remote
     * storage, every object under its prefix (its layers of every generation, then its indexes:
     * the index last, so a crash mid-way leaves a timeline that can be deleted again). Refused
     * while it has branches. Objects stay when a newer generation has written an index (another
     * pageserver owns the timeline now: only the current generation deletes).
     */
    public Deleted delete(TimelineId id) {
        if (busy.putIfAbsent(id, Boolean.TRUE) != null) {
            throw new TimelineException(TimelineException.Kind.CONFLICT, "timeline " + id + " is being created or deleted");
        }
        try {
            Timeline t = get(id);
            synchronized (topology) {
                refuseIfParent(id, "deleted");
                timelines.remove(id);
            }
            synchronized (t.gcLock) { // a GC pass running on it finishes first
                t.shutdown(false);
            }
            Path dead = root.resolve(id + DELETING_SUFFIX);
            Files.move(t.directory(), dead, StandardCopyOption.ATOMIC_MOVE);
            CrashSafe.fsyncDirectory(root);
            FileTrees.deleteRecursively(dead);
            Deleted d = remote == null ? new Deleted(id, 0, 0, 0, "no remote storage") : deleteRemote(id);
            log.info("deleted timeline={} remote_layers={} remote_indexes={} remote_bytes={} {}", id, d.remoteLayers(),
                    d.remoteIndexes(), d.remoteBytes(), d.remoteNote());
            return d;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete timeline " + id, e);
        } finally {
            busy.remove(id);
        }
    }

    private Deleted deleteRemote(TimelineId id) {
        List<RemoteStorage.RemoteObject> objects = remote.storage().list(RemoteLayout.timelinePrefix(id));
        List<String> indexes = new ArrayList<>();
        List<RemoteStorage.RemoteObject> layers = new ArrayList<>();
        for (RemoteStorage.RemoteObject o : objects) {
            Generation g = RemoteLayout.indexGeneration(id, o.key());
            if (g != null) {
                if (g.compareTo(remote.generation()) > 0) {
                    return new Deleted(id, 0, 0, 0, "objects kept: generation " + g + " has attached the timeline since "
                            + "(ours is " + remote.generation() + ")");
                }
                indexes.add(o.key());
            } else {
                layers.add(o);
            }
        }
        long bytes = 0;
        for (RemoteStorage.RemoteObject o : layers) {
            remote.storage().delete(o.key());
            bytes += o.size();
        }
        for (String key : indexes) {
            remote.storage().delete(key);
        }
        return new Deleted(id, layers.size(), indexes.size(), bytes, "");
    }

    /** What {@link #gc} did on one timeline. */
    public record GcResult(TimelineId id, Lsn cutoff, List<Lsn> retained, List<LayerName> imagesCreated,
                           List<LayerName> removed, long bytesRemoved) {
    }

    /**
     * One GC pass on {@code id} now (docs/pageserver.md, "GC and retention"): raises and persists
     * its cutoff to what the retention allows, capped at every child's branch point, then removes
     * the layer files nothing at or above it needs. Their objects in S3 are deleted by the
     * uploader after the next index without them is durable.
     */
    public GcResult gc(TimelineId id, Instant now) {
        Timeline t = get(id);
        synchronized (t.gcLock) {
            if (t.state() != TimelineState.ACTIVE) {
                throw new TimelineException(TimelineException.Kind.UNAVAILABLE, "timeline " + id + " is "
                        + t.state().label() + "; GC runs on active timelines");
            }
            Lsn allowed = t.retentionCutoff(now);
            List<Lsn> retained = new ArrayList<>();
            synchronized (topology) {
                // Under the lock branch() takes to register a child: no branch point is missed.
                for (Timeline c : timelines.values()) {
                    if (id.equals(c.config().ancestorId())) {
                        retained.add(c.config().ancestorLsn());
                    }
                }
                for (Lsn r : retained) {
                    allowed = Lsn.min(allowed, r);
                }
                t.advanceGcCutoff(allowed);
            }
            retained.sort(Comparator.naturalOrder());
            LayerStore.GcOutcome o = t.store().gc(t.gcCutoffLsn(), retained, t.redo());
            return new GcResult(id, t.gcCutoffLsn(), retained, o.imagesCreated(), o.removed(), o.bytesRemoved());
        }
    }

    private volatile Thread gcLoop;

    /**
     * Runs {@link #gc} on every active timeline every {@code interval} on a daemon thread until
     * {@link #close}; a failure on one timeline is logged and the others go on. Not started unless
     * called (PageserverNode starts it with {@code --gc-interval}).
     */
    public synchronized void startGc(Duration interval) {
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("GC interval must be positive, got " + interval);
        }
        if (gcLoop != null) {
            return;
        }
        gcLoop = Thread.ofPlatform().daemon().name("gc").start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(interval.toMillis());
                } catch (InterruptedException e) {
                    return;
                }
                for (Timeline t : list()) {
                    if (t.state() != TimelineState.ACTIVE) {
                        continue;
                    }
                    try {
                        GcResult r = gc(t.id(), Instant.now());
                        if (!r.removed().isEmpty()) {
                            log.info("gc timeline={} cutoff={} removed {} layers, {} bytes", t.id(), r.cutoff(),
                                    r.removed().size(), r.bytesRemoved());
                        }
                    } catch (RuntimeException e) {
                        log.warn("gc timeline={} failed: {}", t.id(), e.toString());
                    }
                }
            }
        });
    }

    private int depth(Timeline t) {
        int d = 0;
        for (TimelineId a = t.config().ancestorId(); a != null && d < 10_000; d++) {
            Timeline p = timelines.get(a);
            a = p == null ? null : p.config().ancestorId();
        }
        return d;
    }

    /** Graceful: every timeline stops ingest and flushes what it holds in memory. */
    @Override
    public void close() {
        Thread g = gcLoop;
        if (g != null) {
            g.interrupt();
            try {
                g.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        // Branches before their ancestors: a branch reads its ancestor's store until it stops.
        List<Timeline> order = new ArrayList<>(timelines.values());
        order.sort(Comparator.comparingInt((Timeline t) -> depth(t)).reversed());
        for (Timeline t : order) {
            try {
                t.shutdown(true);
            } catch (RuntimeException e) {
                log.error("timeline={} shutdown failed", t.id(), e);
            }
        }
        timelines.clear();
    }
}
