package dev.strata.pageserver.timeline;

import dev.strata.pageserver.datadir.ShutdownCheckpoint;
import dev.strata.pageserver.datadir.XactEnds;
import dev.strata.pageserver.ingest.RmgrRegistry;
import dev.strata.pageserver.ingest.TimelineBase;
import dev.strata.pageserver.ingest.WalIngest;
import dev.strata.pageserver.ingest.WalReceiver;
import dev.strata.pageserver.ingest.WalWaitTimeoutException;
import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.DeltaLayer;
import dev.strata.pageserver.layer.ImageLayer;
import dev.strata.pageserver.layer.LayerMap;
import dev.strata.pageserver.layer.Redo;
import dev.strata.pageserver.redo.PageserverRedo;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.replication.ReplicationClient;
import io.netty.channel.EventLoopGroup;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One timeline at work: its {@link LayerStore}, the {@link WalIngest} that fills it, the
 * {@link WalReceiver} that streams WAL from one of its {@link WalSource}s, and a flusher thread
 * that writes frozen in-memory layers to delta files and then compacts. Reads enter through
 * {@link #getValue} (any thread; waits, bounded, for WAL up to the LSN); WAL enters on the
 * receiver's thread. Nothing here runs on a Netty event loop. Where ingest stands (last record,
 * disk-consistent) is the store's {@link IngestPosition}, read here as one snapshot.
 *
 * <p>Flush policy: the open layer freezes by size in the store (checkpoint distance), or at the
 * next record boundary once it has held data for {@link Options#flushInterval()}; the flusher
 * writes frozen layers as soon as they exist, then runs compaction. While
 * {@link Options#maxFrozenLayers()} frozen layers wait, ingest waits (backpressure).
 */
public final class Timeline implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Timeline.class);
    /** How long a graceful shutdown waits for the uploader to put the final flush in S3. */
    private static final Duration UPLOAD_DRAIN = Duration.ofSeconds(20);

    /**
     * @param flushInterval   freeze the open layer once it has held data this long
     * @param maxFrozenLayers ingest waits while this many frozen layers await their flush
     * @param connectTimeout  for each connection to a WAL source
     * @param applicationName how this pageserver names itself to walsenders
     */
    public record Options(Duration flushInterval, int maxFrozenLayers, Duration connectTimeout, String applicationName) {
        public static final Options DEFAULTS = new Options(Duration.ofSeconds(10), 4, Duration.ofSeconds(5), "pageserver");

        public Options {
            if (flushInterval.isNegative() || flushInterval.isZero()) {
                throw new IllegalArgumentException("flush interval must be positive, got " + flushInterval);
            }
            if (maxFrozenLayers < 1) {
                throw new IllegalArgumentException("max frozen layers must be at least 1, got " + maxFrozenLayers);
            }
        }
    }

    /** Last record LSN and the start of that record, read together. */
    public record LastRecord(Lsn lsn, Lsn prev) {
    }

    private final java.nio.file.Path dir;
    private final LayerStore store;
    private final WalIngest ingest;
    private final Redo redo = new PageserverRedo();
    private final EventLoopGroup group;
    private final Options options;
    private final Object lifecycle = new Object();
    private final Object flushWake = new Object();
    private final Thread flusher;
    /** The children's branch points (decision 0033: an L0 run never spans one); none until the manager says. */
    private volatile java.util.function.Supplier<List<Lsn>> branchPoints = List::of;
    private volatile TimelineConfig config;
    private volatile WalReceiver receiver;
    private volatile TimelineState state = TimelineState.CREATING;
    private volatile String reason = "";
    /** See {@link #gcCutoffLsn()}. */
    private volatile Lsn gcCutoff = Lsn.INVALID;
    private volatile long openSinceNanos;
    private volatile Lsn lastSeenOpenLsn = Lsn.INVALID;
    private volatile boolean flushEnabled = true;
    /** Why the last flush could not write (the disk is full), while it is retried; null when flushes succeed. */
    private volatile String flushProblem;
    /** Copies layers and index to object storage; null when the pageserver has no remote storage. */
    private volatile TimelineUploader uploader;

    /** A timeline over an opened or created store; {@link #activate} starts ingest and flushing. */
    public Timeline(java.nio.file.Path dir, TimelineConfig config, LayerStore store, EventLoopGroup group,
                    Options options) {
        if (!config.id().equals(store.timelineId())) {
            throw new IllegalArgumentException("timeline config " + config.id() + " does not match the store's "
                    + store.timelineId());
        }
        this.dir = dir;
        this.config = config;
        this.store = store;
        this.group = group;
        this.options = options;
        // WalIngest resumes from the store's last record and its persisted prev record LSN.
        this.ingest = new WalIngest(store, RmgrRegistry.defaults(), config.dataChecksums(), config.base());
        store.limitFrozenLayers(options.maxFrozenLayers());
        this.flusher = Thread.ofPlatform().daemon().name("flush-" + config.id()).unstarted(this::flushLoop);
        this.gcCutoff = config.gcCutoffLsn();
    }

    public TimelineId id() {
        return config.id();
    }

    public TimelineConfig config() {
        return config;
    }

    public java.nio.file.Path directory() {
        return dir;
    }

    public LayerStore store() {
        return store;
    }

    /** The parent timeline and branch LSN of a branch; empty for a root. */
    public Optional<TimelineAncestor> ancestor() {
        TimelineConfig c = config;
        return c.isBranch() ? Optional.of(new TimelineAncestor(c.ancestorId(), c.ancestorLsn()))
                : Optional.empty();
    }

    /**
     * History below this LSN may be gone (GC, docs/pageserver.md "GC and retention"): branches
     * and reads below it are refused with this LSN named. INVALID while nothing was collected.
     * Persisted in {@code timeline.conf} and the index in S3, so a restart or an attach keeps it.
     */
    public Lsn gcCutoffLsn() {
        return gcCutoff;
    }

    /**
     * Raises the GC cutoff (never lowers it) and persists it before it takes effect: what a GC
     * pass calls before it removes history below {@code lsn}, so that no new branch or read can
     * need it, and a restart still refuses reads below it.
     */
    public void advanceGcCutoff(Lsn lsn) {
        if (lsn.isAfter(lastRecordLsn())) {
            throw new IllegalArgumentException("timeline " + id() + ": GC cutoff " + lsn + " is above the last record LSN "
                    + lastRecordLsn());
        }
        synchronized (lifecycle) {
            if (lsn.isAfter(gcCutoff)) {
                TimelineConfig next = config.withGcCutoffLsn(lsn);
                next.write(dir);
                config = next;
                gcCutoff = lsn;
            }
        }
    }

    /** Replaces the retention (PITR window, horizon) and persists it; the next GC pass uses it. */
    public void setRetention(Retention retention) {
        synchronized (lifecycle) {
            TimelineConfig next = config.withRetention(retention);
            next.write(dir);
            config = next;
        }
        log.info("timeline={} retention now pitr={} horizon_bytes={}", id(), retention.pitr(), retention.horizonBytes());
    }

    /** Serialises GC passes of this timeline (the periodic loop and {@code POST .../gc}). */
    final Object gcLock = new Object();

    /**
     * The highest LSN the retention allows GC to cut at, {@code now}: the lowest of the LSN as of
     * {@code now - pitr} (from the commit timestamps; no commit at all, or every commit inside the
     * window, keeps everything), the last record LSN minus the horizon, and the disk-consistent
     * LSN (images are written from layer files). Never below the start. Children's branch points
     * are the caller's ({@link TimelineManager#gc}).
     */
    Lsn retentionCutoff(Instant now) {
        Retention r = config.retention();
        Lsn start = config.startLsn();
        Lsn last = lastRecordLsn();
        Lsn cutoff = store.diskConsistentLsn();
        long horizon = r.horizonBytes();
        Lsn byHorizon = Long.compareUnsigned(last.value(), horizon) > 0 ? new Lsn(last.value() - horizon) : start;
        cutoff = Lsn.min(cutoff, byHorizon);
        if (!r.pitr().isZero()) {
            LsnForTimestamp at = lsnForTimestamp(now.minus(r.pitr()));
            Lsn byTime = switch (at.kind()) {
                case PRESENT, FUTURE -> at.lsn();
                case PAST, NODATA -> start;
            };
            cutoff = Lsn.min(cutoff, byTime);
        }
        return cutoff.isBefore(start) ? start : cutoff;
    }

    /** The lowest LSN this timeline serves: its start, or the GC cutoff if that is higher. */
    public Lsn oldestReadableLsn() {
        Lsn gc = gcCutoff;
        return gc.isAfter(config.startLsn()) ? gc : config.startLsn();
    }

    /** A value at {@code lsn} without waiting (the caller knows WAL up to it is ingested). */
    private byte[] readNow(Key key, Lsn lsn) {
        return store.getValue(key, lsn, redo);
    }

    /** A record end below or at an LSN whose start is known: where a branch or basebackup can start. */
    public record RecordEnd(Lsn lsn, Lsn prev) {
    }

    /**
     * The start of the record that ends at {@code lsn}, if the pageserver knows it: the last record
     * LSN, the disk-consistent LSN, the timeline's start, the end of a transaction (commit,
     * abort, prepare: kept in history by ingest, {@code XactEnds}), or the start of a shutdown
     * checkpoint record ingested since (a compute's start: {@link Key#shutdownCheckpoint}). Null
     * otherwise.
     */
    public Lsn prevRecordAt(Lsn lsn) {
        RecordEnd e = recordEndAtOrBelow(lsn);
        if (e != null && e.lsn().equals(lsn)) {
            return e.prev();
        }
        Lsn last = lastRecord().lsn();
        if (!lsn.isBefore(last) || lsn.isBefore(config.startLsn())) {
            return null;
        }
        ShutdownCheckpoint checkpoint = ShutdownCheckpoint.decode(readNow(Key.shutdownCheckpoint(lsn), last));
        return checkpoint == null ? null : checkpoint.prev();
    }

    /**
     * The newest record end at or below {@code lsn} (and at or above the start) whose start is
     * known, or null. Between it and {@code lsn} no transaction ends, so the committed data at
     * both is the same. WAL up to {@code lsn} must be ingested.
     */
    public RecordEnd recordEndAtOrBelow(Lsn lsn) {
        RecordEnd best = null;
        IngestPosition.Snapshot at = store.position().snapshot();
        Lsn lastPrev = at.lastRecordStart();
        if (at.lastRecordLsn().equals(lsn) && lastPrev.isValid()) {
            return new RecordEnd(lsn, lastPrev);
        }
        Lsn dcl = at.diskConsistentLsn();
        Lsn dclPrev = at.diskConsistentPrevRecordLsn();
        if (dclPrev.isValid() && dcl.compareTo(lsn) <= 0 && !dcl.isBefore(config.startLsn())) {
            best = new RecordEnd(dcl, dclPrev);
        }
        TimelineConfig c = config;
        if (c.startPrevRecordLsn().isValid() && c.startLsn().compareTo(lsn) <= 0
                && (best == null || c.startLsn().isAfter(best.lsn()))) {
            best = new RecordEnd(c.startLsn(), c.startPrevRecordLsn());
        }
        if (!lsn.isBefore(c.startLsn())) {
            XactEnds ends = XactEnds.decode(
                    readNow(Key.xactEnds(), lsn));
            if (ends != null && !ends.lastEnd().isBefore(c.startLsn())
                    && (best == null || ends.lastEnd().isAfter(best.lsn()))) {
                best = new RecordEnd(ends.lastEnd(), ends.lastStart());
            }
        }
        return best;
    }

    /**
     * The LSN at which this timeline's data is as of {@code time} (docs/pageserver.md, "Branches"):
     * a binary search over the LSNs of its history for the newest point at which the running
     * maximum of commit timestamps is still at or before {@code time}. Reads history only (the
     * transaction-ends key), so it works after a restart, an attach and on a branch (whose
     * history below its start is its parent's, not searched: the result is at or above the start).
     */
    public LsnForTimestamp lsnForTimestamp(Instant time) {
        long t;
        try {
            t = XactEnds.toPgTime(time);
        } catch (ArithmeticException e) {
            throw new TimelineException(TimelineException.Kind.BAD_REQUEST, "timestamp " + time + " is out of range");
        }
        Lsn lo = oldestReadableLsn();
        checkReadable(lo);
        Lsn hi = lastRecordLsn();
        XactEnds top = XactEnds.decode(readNow(Key.xactEnds(), hi));
        if (top == null || !top.hasCommit()) {
            return new LsnForTimestamp(hi, LsnForTimestamp.Kind.NODATA);
        }
        if (top.maxCommitTime() <= t) {
            return new LsnForTimestamp(hi, LsnForTimestamp.Kind.FUTURE);
        }
        XactEnds bottom = XactEnds.decode(
                readNow(Key.xactEnds(), lo));
        if (bottom != null && bottom.hasCommit() && bottom.maxCommitTime() > t) {
            return new LsnForTimestamp(lo, LsnForTimestamp.Kind.PAST);
        }
        // Invariant: commits up to lo are all at or before t, hi has one after t. Find the
        // largest LSN whose running maximum is still at or before t.
        long a = lo.value();
        long b = hi.value();
        while (Long.compareUnsigned(b - a, 1) > 0) {
            long mid = a + ((b - a) >>> 1);
            XactEnds v = XactEnds.decode(
                    readNow(Key.xactEnds(), new Lsn(mid)));
            if (v == null || !v.hasCommit() || v.maxCommitTime() <= t) {
                a = mid;
            } else {
                b = mid;
            }
        }
        XactEnds at = XactEnds.decode(
                readNow(Key.xactEnds(), new Lsn(a)));
        if (at == null || !at.hasCommit()) {
            return new LsnForTimestamp(lo, LsnForTimestamp.Kind.PAST);
        }
        Lsn commit = at.lastCommitEnd();
        return new LsnForTimestamp(commit.isBefore(lo) ? lo : commit, LsnForTimestamp.Kind.PRESENT);
    }

    /** Counters of the Java redo checked against the images in WAL (docs/redo.md). */
    public dev.strata.pageserver.redo.RedoOracle redoOracle() {
        return ingest.redoOracle();
    }

    public Redo redo() {
        return redo;
    }

    public TimelineState state() {
        TimelineState s = state;
        WalReceiver r = receiver;
        if (s == TimelineState.ACTIVE && r != null && r.failure() != null) {
            return TimelineState.BROKEN;
        }
        return s;
    }

    /**
     * Why the timeline is broken or stopped; when active, why its flushes are failing and being
     * retried (ingest then waits, see {@link Options#maxFrozenLayers()}); "" when all is well.
     */
    public String reason() {
        WalReceiver r = receiver;
        if (state == TimelineState.ACTIVE && r != null && r.failure() != null) {
            return "ingest stopped: " + r.failure().getMessage();
        }
        String problem = flushProblem;
        if (state == TimelineState.ACTIVE && problem != null) {
            return "flush failing, retried; ingest waits: " + problem;
        }
        return reason;
    }

    /** Gives the timeline its uploader (before {@link #activate}, which starts it). */
    void uploadWith(TimelineUploader u) {
        this.uploader = u;
        u.gcCutoffSource(this::gcCutoffLsn);
        // Safekeepers keep WAL until it is in S3, not merely on this disk (decision 0016). Never
        // above the disk-consistent LSN: after a restart ingest resumes there.
        ingest.durableLsnSource(() -> Lsn.min(u.remoteConsistentLsn(), store.diskConsistentLsn()));
    }

    /**
     * Bytes of WAL the current source has reported (the end of its WAL) that ingest has not reached
     * yet; 0 with no source or before it reported anything.
     */
    public long ingestLagBytes() {
        WalReceiver r = receiver;
        return r == null ? 0 : r.lagBytes();
    }

    /** Where the timeline stands in object storage; null without remote storage. */
    public record RemoteStatus(Lsn remoteConsistentLsn, long generation, int pendingLayers, long pendingBytes, String lastError,
                               boolean stale, long layersUploaded, long bytesUploaded, long indexesUploaded,
                               long layersDeleted) {
    }

    public RemoteStatus remoteStatus() {
        TimelineUploader u = uploader;
        if (u == null) {
            return null;
        }
        return new RemoteStatus(u.remoteConsistentLsn(), u.generation().value(), u.pendingLayers(), u.pendingBytes(), u.lastError(),
                u.stale(), u.layersUploaded(), u.bytesUploaded(), u.indexesUploaded(),
                u.layersDeleted());
    }

    /**
     * What the timeline's newest index in object storage covers (decision 0016): every value at or
     * below it survives the loss of this pageserver's disk. INVALID before the first index is
     * uploaded; null without remote storage.
     */
    public Lsn remoteConsistentLsn() {
        TimelineUploader u = uploader;
        return u == null ? null : u.remoteConsistentLsn();
    }

    /**
     * Waits until the remote-consistent LSN reaches {@code lsn} (tests, and callers that need
     * history in S3 before they go on); false after {@code timeout} or without remote storage.
     */
    public boolean awaitRemoteConsistent(Lsn lsn, Duration timeout) throws InterruptedException {
        TimelineUploader u = uploader;
        return u != null && u.awaitRemoteConsistent(lsn, timeout);
    }

    /** Starts the flusher, the uploader and, if the timeline has WAL sources, the WAL receiver. */
    public void activate() {
        synchronized (lifecycle) {
            move(TimelineState.ACTIVE, "");
            flusher.start();
            TimelineUploader u = uploader;
            if (u != null) {
                u.start();
            }
            startReceiver(config.walSources());
        }
        log.info("timeline={} active start_lsn={} disk_consistent_lsn={} sources={}", id(), config.startLsn(),
                store.diskConsistentLsn(), config.walSources());
    }

    /** Marks a timeline that failed while being created or loaded. */
    public void markBroken(String why) {
        synchronized (lifecycle) {
            move(TimelineState.BROKEN, why);
        }
        log.error("timeline={} broken: {}", id(), why);
    }

    /**
     * Replaces the WAL sources: stops the receiver and starts one on the new sources, resuming at
     * the last record ingested (the same {@link WalIngest}, so LSNs and {@code xl_prev} carry on).
     */
    public void setWalSources(List<WalSource> sources) {
        synchronized (lifecycle) {
            if (state != TimelineState.ACTIVE) {
                throw new TimelineException(TimelineException.Kind.UNAVAILABLE, "timeline " + id() + " is "
                        + state().label() + (reason().isEmpty() ? "" : ": " + reason())
                        + "; its WAL sources cannot change");
            }
            TimelineConfig next = config.withWalSources(sources);
            next.write(dir);
            config = next;
            WalReceiver old = receiver;
            receiver = null;
            if (old != null) {
                old.close();
            }
            startReceiver(sources);
        }
        log.info("timeline={} WAL sources now {}", id(), sources);
    }

    private void startReceiver(List<WalSource> sources) {
        if (sources.isEmpty()) {
            return;
        }
        List<ReplicationClient.Options> all = sources.stream()
                .map(s -> new ReplicationClient.Options(s.host(), s.port(), s.user(), s.password(),
                        options.applicationName(), options.connectTimeout())
                        // A safekeeper serves many timelines and picks one by this option; stock PostgreSQL
                        // (tests stream from one) accepts it as a custom two-part setting and ignores it.
                        // strata.role=pageserver: the flush position this client reports is the
                        // pageserver's durable LSN, below which the safekeeper may remove WAL.
                        .withStartupOptions("-c strata.timeline_id=" + id() + " -c strata.role=pageserver"))
                .toList();
        if (config.base() == TimelineBase.IMPORTED || config.isBranch()) {
            // Starts right after initdb's checkpoint record (mid-segment), whose start is the
            // first record's xl_prev; fails over between the sources.
            receiver = new WalReceiver(ingest, config.startLsn(), ingest.prevRecordLsn(), all, group)
                    .start();
        } else {
            // A WAL-only timeline (tests) starts at a segment start, from its first source.
            receiver = new WalReceiver(ingest, config.startLsn().segmentStart(16 << 20), all.get(0),
                    group).start();
        }
    }

    /** "none" without sources, else the receiver's own description. */
    public String walReceiverState() {
        WalReceiver r = receiver;
        return r == null ? "none" : r.state();
    }

    public Lsn lastRecordLsn() {
        return store.lastRecordLsn();
    }

    /** The ingest position (last record, disk-consistent), read at one moment. */
    public IngestPosition.Snapshot position() {
        return store.position().snapshot();
    }

    /**
     * The last record LSN and the start of that record, consistent with each other (one read of
     * the {@link IngestPosition}). Before the first record after a restart the prev is the one
     * persisted with the disk-consistent LSN; INVALID where no start is known (WAL reported
     * without its records).
     */
    public LastRecord lastRecord() {
        IngestPosition.Snapshot at = store.position().snapshot();
        return new LastRecord(at.lastRecordLsn(), at.lastRecordStart());
    }

    /**
     * Waits until WAL up to {@code lsn} is ingested. Fails at once for an LSN below the start, a
     * timeline that cannot serve, or one whose ingest stopped below {@code lsn}; after
     * {@code timeout} with {@link TimelineException.Kind#WAIT_TIMEOUT}.
     */
    public void awaitLsn(Lsn lsn, Duration timeout) {
        checkReadable(lsn);
        if (lsn.compareTo(store.lastRecordLsn()) <= 0) {
            return;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            WalReceiver r = receiver;
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new TimelineException(TimelineException.Kind.WAIT_TIMEOUT, "timeline " + id() + ": WAL up to "
                        + lsn + " not ingested after " + timeout.toMillis() + " ms; last record LSN "
                        + store.lastRecordLsn() + " (receiver: " + walReceiverState() + ")");
            }
            try {
                if (r == null) {
                    // No receiver (no sources, or a swap in progress): wake on an advance, and
                    // at least every 50 ms to look for a receiver and the state again.
                    store.position().awaitLastRecord(lsn, Duration.ofNanos(Math.min(left,
                            TimeUnit.MILLISECONDS.toNanos(50))), null);
                } else {
                    r.awaitLsn(lsn, Duration.ofNanos(left));
                }
            } catch (WalWaitTimeoutException e) {
                // loop: the deadline check above reports it
            } catch (IllegalStateException e) {
                if (receiver == r) { // not a swap of sources: ingest stopped or the timeline closed
                    throw new TimelineException(TimelineException.Kind.UNAVAILABLE, e.getMessage(), e);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new TimelineException(TimelineException.Kind.UNAVAILABLE, "timeline " + id()
                        + ": interrupted waiting for " + lsn, e);
            }
            if (lsn.compareTo(store.lastRecordLsn()) <= 0) {
                return;
            }
            if (state == TimelineState.STOPPED) {
                checkReadable(lsn);
            }
        }
    }

    private void checkReadable(Lsn lsn) {
        TimelineState s = state;
        if (!s.servesReads()) {
            throw new TimelineException(TimelineException.Kind.UNAVAILABLE, "timeline " + id() + " is "
                    + s.label() + (reason.isEmpty() ? "" : ": " + reason));
        }
        if (lsn.isBefore(config.startLsn())) {
            throw new TimelineException(TimelineException.Kind.LSN_OUT_OF_RANGE, "timeline " + id() + ": LSN " + lsn
                    + " is below the timeline's history, which starts at " + config.startLsn());
        }
        Lsn gc = gcCutoff;
        if (lsn.isBefore(gc)) {
            throw new TimelineException(TimelineException.Kind.LSN_OUT_OF_RANGE, "timeline " + id() + ": LSN " + lsn
                    + " is below the GC cutoff " + gc + "; history below it may be gone");
        }
    }

    /**
     * The value of {@code key} at {@code lsn} (null: none), after waiting up to {@code wait} for
     * WAL up to {@code lsn}. The caller must not be a Netty event loop: this reads disk.
     */
    public byte[] getValue(Key key, Lsn lsn, Duration wait) {
        awaitLsn(lsn, wait);
        return store.getValue(key, lsn, redo);
    }

    /** Layer counts by kind: open/frozen in-memory, delta (of which L0) and image files. */
    public record LayerCounts(int inMemory, int frozen, int delta, int image, int level0) {
    }

    public LayerCounts layerCounts() {
        LayerMap m = store.layerMap();
        return new LayerCounts(m.open() == null ? 0 : 1, m.frozen().size(), m.deltas().size(), m.images().size(),
                m.level0Deltas().size());
    }

    /** Freezes and flushes now (tests, shutdown with ingest stopped). */
    public Lsn flushNow() {
        store.requestFreeze();
        synchronized (flushWake) {
            flushWake.notifyAll();
        }
        return store.diskConsistentLsn();
    }

    private void flushLoop() {
        while (flushEnabled) {
            try {
                synchronized (flushWake) {
                    flushWake.wait(200);
                }
            } catch (InterruptedException e) {
                return;
            }
            if (!flushEnabled) {
                return;
            }
            try {
                flushOnce();
                if (flushProblem != null) {
                    log.info("timeline={} flushes succeed again; disk_consistent_lsn={}", id(), store.diskConsistentLsn());
                    flushProblem = null;
                }
            } catch (RuntimeException e) {
                if (!flushEnabled) {
                    return;
                }
                if (e instanceof StorageException s && s.category() == StorageException.Category.WRITE_FAILED) {
                    // The disk is full (or a write failed): nothing was listed, the frozen layers stay
                    // in memory and ingest waits behind them; try again until space is freed.
                    if (!s.getMessage().equals(flushProblem)) {
                        log.warn("timeline={} flush failed, retrying: {}", id(), s.getMessage());
                    }
                    flushProblem = s.getMessage();
                    continue;
                }
                log.error("timeline={} flush failed", id(), e);
                synchronized (lifecycle) {
                    if (state.canMoveTo(TimelineState.BROKEN)) {
                        move(TimelineState.BROKEN, "flush failed: " + e.getMessage());
                    }
                }
                WalReceiver r = receiver;
                if (r != null) {
                    r.close();
                }
                return;
            }
        }
    }

    private void flushOnce() {
        if (store.frozenLayerCount() > 0) {
            store.flush();
            compactLevel0();
            List<ImageLayer> images = store.compact(redo);
            if (!images.isEmpty()) {
                log.info("timeline={} compaction wrote {} image layers", id(), images.size());
            }
            return;
        }
        Lsn last = store.lastRecordLsn();
        if (store.openLayerBytes() == 0) {
            lastSeenOpenLsn = Lsn.INVALID;
            return;
        }
        if (!lastSeenOpenLsn.isValid()) {
            lastSeenOpenLsn = last;
            openSinceNanos = System.nanoTime();
        } else if (System.nanoTime() - openSinceNanos >= options.flushInterval().toNanos()) {
            store.requestFreeze(); // taken by the ingest thread at the next record
            openSinceNanos = System.nanoTime();
        }
    }

    /**
     * L0 -> L1 compaction after a flush, before image compaction (which then sees the narrower
     * key ranges). A layer it must download and cannot (S3 unavailable) is not a reason to stop
     * the timeline: the next flush tries again; write and fsync failures go the flush's way.
     */
    private void compactLevel0() {
        try {
            List<Lsn> boundaries = new java.util.ArrayList<>(branchPoints.get());
            Lsn cutoff = gcCutoffLsn();
            if (cutoff.isValid()) {
                boundaries.add(cutoff);
            }
            store.compactLevel0(boundaries);
        } catch (dev.strata.pageserver.layer.LayerDownloadException e) {
            log.warn("timeline={} L0 compaction postponed: {}", id(), e.getMessage());
        }
    }

    /** Where this timeline's children branched, for L0 compaction's run cuts (set by the manager). */
    void branchPointsSource(java.util.function.Supplier<List<Lsn>> source) {
        this.branchPoints = source;
    }

    private void move(TimelineState next, String why) {
        if (state == next) {
            return;
        }
        if (!state.canMoveTo(next)) {
            throw new IllegalStateException("timeline " + id() + ": " + state + " cannot become " + next);
        }
        state = next;
        reason = why;
    }

    /**
     * Stops ingest and the flusher; with {@code flush}, writes what ingest holds in memory so a
     * restart re-ingests nothing (graceful shutdown). Then closes the store's files.
     */
    public void shutdown(boolean flush) {
        synchronized (lifecycle) {
            if (state == TimelineState.STOPPED) {
                return;
            }
            TimelineState before = state;
            move(TimelineState.STOPPED, "shut down");
            WalReceiver r = receiver;
            if (r != null) {
                r.close(); // joins the ingest thread: WalIngest is quiet from here on
            }
            ingest.redoOracle().logSummary();
            flushEnabled = false;
            synchronized (flushWake) {
                flushWake.notifyAll();
            }
            if (flusher.isAlive()) {
                flusher.interrupt();
                try {
                    flusher.join(30_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (flush && before == TimelineState.ACTIVE) {
                try {
                    store.freezeAndFlush();
                } catch (RuntimeException e) {
                    log.error("timeline={} final flush failed; WAL after {} is re-ingested at the next start",
                            id(), store.diskConsistentLsn(), e);
                }
            }
            TimelineUploader u = uploader;
            if (u != null) {
                // Graceful: give the uploader a bounded while to put the final flush in S3 too;
                // whatever is left is uploaded at the next start (the layers stay on disk).
                u.close(flush && before == TimelineState.ACTIVE ? UPLOAD_DRAIN : Duration.ZERO);
            }
            store.close();
        }
        log.info("timeline={} stopped disk_consistent_lsn={}", id(), store.diskConsistentLsn());
    }

    @Override
    public void close() {
        shutdown(true);
    }

    /**
     * Sum of the sizes of every relation fork at the last record LSN, in bytes (8 KiB blocks),
     * through the relation-size cache: the database and relation directories are read, each
     * size is a cache lookup. Null for a timeline without a cluster (WAL-only tests) or when the
     * history cannot be read.
     */
    public Long logicalSize() {
        try {
            Lsn lsn = lastRecordLsn();
            byte[] dbBytes = store.getValue(Key.databaseDirectory(), lsn, redo);
            if (dbBytes == null) {
                return null;
            }
            long blocks = 0;
            for (dev.strata.pageserver.datadir.DbDirectory.Db db : dev.strata.pageserver.datadir.DbDirectory.decode(dbBytes)
                    .entries()) {
                byte[] relBytes = store.getValue(Key.relationDirectory(db.spcOid(), db.dbOid()), lsn, redo);
                if (relBytes == null) {
                    continue;
                }
                for (dev.strata.pageserver.datadir.RelDirectory.RelFork rf
                        : dev.strata.pageserver.datadir.RelDirectory.decode(relBytes).entries()) {
                    long n = dev.strata.pageserver.datadir.BlockCount.decode(store.getValue(
                            Key.relationSize(db.spcOid(), db.dbOid(), rf.relNumber(), rf.fork()), lsn, redo));
                    if (n > 0) {
                        blocks += n;
                    }
                }
            }
            return blocks * 8192L;
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** Delta layer files (for status). */
    public List<DeltaLayer> deltaLayers() {
        return store.layerMap().deltas();
    }
}
