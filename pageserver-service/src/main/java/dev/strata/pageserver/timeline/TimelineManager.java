package dev.strata.pageserver.timeline;

import dev.strata.pageserver.ingest.TimelineBase;
import dev.strata.pageserver.initdb.InitdbImport;
import dev.strata.pageserver.layer.LayerCache;
import dev.strata.pageserver.layer.LayerFileHandle;
import dev.strata.pageserver.layer.LayerName;
import dev.strata.pageserver.remote.IndexPart;
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
import java.util.ArrayList;
import java.util.Comparator;
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

    /** Loads every timeline found on disk and activates it; one that fails to load is logged and left out (its files stay for inspection). */
    public void loadAll() {
        List<Path> dirs;
        try (Stream<Path> s = Files.list(root)) {
            dirs = s.sorted(Comparator.naturalOrder()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + root, e);
        }
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
            TimelineConfig config;
            try {
                config = TimelineConfig.read(d);
            } catch (RuntimeException e) {
                log.error("timeline={} cannot be loaded: {}", id, e.getMessage());
                continue;
            }
            LayerStore store;
            try {
                store = LayerStore.open(d.resolve(LAYERS), storage, cache, remoteLayers(id));
            } catch (RuntimeException e) {
                log.error("timeline={} cannot be loaded: {}", id, e.getMessage());
                continue;
            }
            Timeline t = new Timeline(d, config, store, group, options);
            withUploader(t, null);
            timelines.put(id, t);
            t.activate();
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
                    store.advanceLastRecordLsn(what.endLsn(), what.checkpointLsn());
                    store.freezeAndFlush();
                } catch (RuntimeException e) {
                    store.close();
                    throw e;
                }
                FileTrees.deleteRecursively(pgdata);
                config = new TimelineConfig(id, what.endLsn(), TimelineBase.IMPORTED, what.dataChecksums(), req.walSources());
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
            TimelineMetadataFile.write(layers, new TimelineMetadata(id, index.diskConsistentLsn(), index.prevRecordLsn(),
                    List.copyOf(index.layers().keySet())));
            TimelineConfig config = new TimelineConfig(id, index.startLsn(), index.base(), index.dataChecksums(),
                    walSources == null ? List.of() : walSources);
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
            Timeline t = new Timeline(target, config, store, group, options);
            withUploader(t, index);
            timelines.put(id, t);
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

    /** Stops the timeline (no flush: its files go) and removes its directory. */
    public void delete(TimelineId id) {
        if (busy.putIfAbsent(id, Boolean.TRUE) != null) {
            throw new TimelineException(TimelineException.Kind.CONFLICT, "timeline " + id + " is being created or deleted");
        }
        try {
            Timeline t = get(id);
            t.shutdown(false);
            timelines.remove(id);
            Path dead = root.resolve(id + DELETING_SUFFIX);
            Files.move(t.directory(), dead, StandardCopyOption.ATOMIC_MOVE);
            CrashSafe.fsyncDirectory(root);
            FileTrees.deleteRecursively(dead);
            log.info("deleted timeline={}", id);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete timeline " + id, e);
        } finally {
            busy.remove(id);
        }
    }

    /** Graceful: every timeline stops ingest and flushes what it holds in memory. */
    @Override
    public void close() {
        for (Timeline t : timelines.values()) {
            try {
                t.shutdown(true);
            } catch (RuntimeException e) {
                log.error("timeline={} shutdown failed", t.id(), e);
            }
        }
        timelines.clear();
    }
}
