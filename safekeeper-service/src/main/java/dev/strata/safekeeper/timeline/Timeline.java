package dev.strata.safekeeper.timeline;

import dev.strata.pgcore.fs.CrashSafe;
import dev.strata.pgcore.fs.Fsync;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.safekeeper.control.ControlFileStore;
import dev.strata.safekeeper.control.SafekeeperState;
import dev.strata.safekeeper.election.Acceptor;
import dev.strata.safekeeper.election.VoteRequest;
import dev.strata.safekeeper.election.VoteResponse;
import dev.strata.safekeeper.offload.RemoteWal;
import dev.strata.safekeeper.receive.ComputeAddress;
import dev.strata.safekeeper.receive.ComputeStreamer;
import dev.strata.safekeeper.wal.SegmentedWalStore;
import dev.strata.safekeeper.wal.WalPrefixScanner;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import org.slf4j.LoggerFactory;

/**
 * One timeline on one safekeeper: its control file, its WAL segments, the acceptor that guards
 * both, and the streamer that pulls WAL from the timeline's current compute. Lives in
 * {@code <data dir>/timelines/<timeline id>/}.
 */
public final class Timeline implements AutoCloseable {

    /** XLOG_BLCKSZ: fixed when PostgreSQL is compiled; every build Strata supports uses 8 kB. */
    public static final int WAL_PAGE_SIZE = 8192;

    private final Path dir;
    private final SegmentedWalStore wal;
    private final Acceptor acceptor;
    private final SafekeeperState created;
    private final Object progress = new Object();
    private volatile ComputeStreamer streamer;
    private volatile SafekeeperState lastPersisted;
    /** Object storage holding this timeline's offloaded WAL, or null without remote storage. */
    private volatile RemoteWal remote;

    private Timeline(Path dir, SafekeeperState state, ControlFileStore store, SegmentedWalStore wal) {
        this.dir = dir;
        this.wal = wal;
        this.created = state;
        this.lastPersisted = state;
        this.acceptor = new Acceptor(state, s -> {
            store.persist(s);
            lastPersisted = s;
        }, wal);
    }

    /**
     * Creates a new timeline whose WAL starts at {@code start}: a segment start, or a record
     * boundary (a timeline imported from initdb starts where initdb's last record ends; the
     * bytes of that segment before it stay zeros, and walsender clients must start at or above it).
     */
    public static Timeline create(Path dir, TimelineId id, long systemId, int segmentSize, Lsn start) {
        return create(dir, id, systemId, segmentSize, start, Fsync.SYSTEM);
    }

    /** As {@link #create(Path, TimelineId, long, int, Lsn)}, forcing every file through {@code fsync}. */
    public static Timeline create(Path dir, TimelineId id, long systemId, int segmentSize, Lsn start, Fsync fsync) {
        if (!start.isValid() || start.value() % 8 != 0) {
            throw new IllegalArgumentException("timeline " + id + " must start at a segment start or a record "
                    + "boundary (8-byte aligned), not at " + start);
        }
        try {
            // Durably: a timeline directory lost in a crash would take its acknowledged WAL with it.
            CrashSafe.createDirectoriesDurably(dir.resolve("wal"));
        } catch (IOException e) {
            throw new UncheckedIOException("could not create " + dir, e);
        }
        ControlFileStore store = new ControlFileStore(dir, fsync);
        if (store.load().isPresent()) {
            throw new IllegalStateException("timeline " + id + " already exists in " + dir);
        }
        SafekeeperState state = SafekeeperState.create(id, systemId, segmentSize, start);
        store.persist(state);
        return new Timeline(dir, state, store, new SegmentedWalStore(dir.resolve("wal"), segmentSize, start, start, fsync, true));
    }

    /**
     * Opens an existing timeline: loads the control file and finds the valid end of its WAL by
     * reading it back; the control file's flush LSN is where the scan starts, not a promise that
     * the WAL reaches it (decision 0010).
     */
    public static Timeline open(Path dir) {
        return open(dir, Fsync.SYSTEM);
    }

    /** As {@link #open(Path)}, forcing every file through {@code fsync}. */
    public static Timeline open(Path dir, Fsync fsync) {
        ControlFileStore store = new ControlFileStore(dir, fsync);
        SafekeeperState state = store.load().orElseThrow(() ->
                new IllegalStateException("no safekeeper control file in " + dir));
        Path walDir = dir.resolve("wal");
        Lsn end = WalPrefixScanner.validEnd(walDir, state.walSegmentSize(), state.timelineStartLsn(), state.flushLsn());
        SafekeeperState recovered = state.withFlushLsn(end);
        return new Timeline(dir, recovered, store,
                new SegmentedWalStore(walDir, state.walSegmentSize(), state.timelineStartLsn(), end, fsync, true));
    }

    public TimelineId id() {
        return created.timelineId();
    }

    public Acceptor acceptor() {
        return acceptor;
    }

    public SegmentedWalStore wal() {
        return wal;
    }

    public Path directory() {
        return dir;
    }

    public TimelineStatus status() {
        SafekeeperState s = acceptor.state();
        ComputeStreamer st = streamer;
        return new TimelineStatus(s.timelineId(), s.promisedTerm(), s.termHistory(), s.timelineStartLsn(),
                s.flushLsn(), s.commitLsn(), s.remoteConsistentLsn(), wal.retainedStart(),
                st == null ? "idle" : st.state(), remote == null ? Lsn.INVALID : s.offloadedLsn());
    }

    /**
     * Handles a vote request; granting a higher term stops streaming from the older term's
     * compute at once, so a stale compute loses this safekeeper's acknowledgements immediately.
     */
    public VoteResponse vote(VoteRequest request) {
        VoteResponse response = acceptor.vote(request);
        ComputeStreamer current = streamer;
        if (response.granted() && current != null && request.term().isAfter(current.compute().term())) {
            stopStreaming();
        }
        return response;
    }

    /**
     * Starts streaming from the compute of {@code compute.term()}; replaces any earlier streamer.
     * Idempotent for the compute already streamed from.
     */
    public synchronized void streamFrom(ComputeAddress compute, NodeId self) {
        streamFrom(compute, self, ComputeStreamer.GapFiller.NONE);
    }

    /**
     * As {@link #streamFrom(ComputeAddress, NodeId)}; {@code gapFiller} catches up from a peer
     * when the compute no longer has the WAL this node needs.
     */
    public synchronized void streamFrom(ComputeAddress compute, NodeId self, ComputeStreamer.GapFiller gapFiller) {
        acceptor.requireCurrentTerm(compute.term());
        ComputeStreamer old = streamer;
        if (old != null && !old.isStopped() && old.compute().equals(compute)) {
            return; // already streaming from it: the compute agent re-announces itself periodically
        }
        if (old != null) {
            old.close();
        }
        SafekeeperState s = acceptor.state();
        streamer = new ComputeStreamer(id().toString(), self, compute, acceptor, s.systemId(), WAL_PAGE_SIZE,
                s.walSegmentSize(), gapFiller);
    }

    /** Stops streaming from the compute, e.g. because a higher term was promised. */
    public synchronized void stopStreaming() {
        ComputeStreamer old = streamer;
        streamer = null;
        if (old != null) {
            old.close();
        }
    }

    /** End of the WAL that may be served: committed (on a quorum) and held here. */
    public Lsn servableEnd() {
        SafekeeperState s = acceptor.state();
        return Lsn.min(s.commitLsn(), s.flushLsn());
    }

    /** Raises the commit LSN learned from the quorum and wakes the walsenders waiting for it. */
    public void advanceCommit(Lsn commit) {
        if (acceptor.advanceCommitLsn(commit)) {
            synchronized (progress) {
                progress.notifyAll();
            }
        }
    }

    /** Waits up to {@code millis} for the servable end to pass {@code beyond}; returns the servable end. */
    public Lsn awaitServable(Lsn beyond, long millis) throws InterruptedException {
        synchronized (progress) {
            Lsn end = servableEnd();
            if (!end.isAfter(beyond)) {
                progress.wait(millis);
                end = servableEnd();
            }
            return end;
        }
    }

    /** Persists the commit, flush and remote-consistent LSN if they moved since the last persist (lazy persistence). */
    public void persistIfChanged() {
        SafekeeperState now = acceptor.state();
        SafekeeperState last = lastPersisted;
        if (!now.commitLsn().equals(last.commitLsn()) || !now.flushLsn().equals(last.flushLsn())
                || !now.remoteConsistentLsn().equals(last.remoteConsistentLsn())
                || !now.offloadedLsn().equals(last.offloadedLsn())) {
            acceptor.persist();
        }
    }

    /**
     * The pageserver reports that everything below {@code durable} is in its layer files
     * (capped at this node's flush LSN: it cannot have more than was sent). Never moves back.
     */
    public void advanceRemoteConsistentLsn(Lsn durable) {
        acceptor.advanceRemoteConsistentLsn(Lsn.min(durable, wal.flushLsn()));
    }

    /**
     * Turns on reads of offloaded WAL from {@code remoteWal} (WAL offload: docs/safekeeper.md);
     * the node's {@code WalOffloader} does the uploads.
     */
    public void enableOffload(RemoteWal remoteWal) {
        this.remote = remoteWal;
    }

    /** Whether this timeline's WAL is offloaded to object storage. */
    public boolean offloading() {
        return remote != null;
    }

    /** Everything below it is in object storage (the timeline start until the first upload). */
    public Lsn offloadedLsn() {
        return acceptor.state().offloadedLsn();
    }

    /** A peer reports a higher offloaded LSN (the uploader moved it): persisted lazily. */
    public void advanceOffloadedLsn(Lsn lsn) {
        if (remote != null) {
            acceptor.advanceOffloadedLsn(lsn);
        }
    }

    /**
     * The uploader put every segment below {@code lsn} in object storage: raises the offloaded
     * LSN and persists it (fsynced) before returning, so a restart resumes from there.
     */
    public void recordOffloaded(Lsn lsn) {
        if (acceptor.advanceOffloadedLsn(lsn)) {
            acceptor.persist(); // the store callback records it as lastPersisted
        }
    }

    /**
     * The lowest LSN a reader can be served from: the timeline start when object storage holds
     * everything below the WAL still on disk, else where the local WAL begins.
     */
    public Lsn readableStart() {
        Lsn retained = wal.retainedStart();
        if (remote != null && !offloadedLsn().isBefore(retained)) {
            return wal.startLsn();
        }
        return retained;
    }

    /**
     * Reads up to {@code max} bytes at {@code from} as {@link SegmentedWalStore#read} does, from
     * object storage when they are no longer on this disk but were offloaded (walsender, the
     * {@code GET /wal} of a donor). Never beyond one segment per call.
     */
    public byte[] readWal(Lsn from, int max) {
        if (remote != null && from.isBefore(wal.retainedStart()) && !from.isBefore(wal.startLsn())
                && from.isBefore(offloadedLsn())) {
            return readOffloaded(from, max);
        }
        try {
            return wal.read(from, max);
        } catch (IllegalArgumentException e) {
            // Removed between our look and the read: it was offloaded, since removal waits for that.
            if (remote != null && from.isBefore(wal.retainedStart()) && from.isBefore(offloadedLsn())) {
                return readOffloaded(from, max);
            }
            throw e;
        }
    }

    /** Up to {@code max} bytes at {@code from} from object storage; {@code from} must be below the offloaded LSN. */
    public byte[] readOffloaded(Lsn from, int max) {
        RemoteWal r = remote;
        Lsn offloaded = offloadedLsn();
        if (r == null || !from.isBefore(offloaded) || from.isBefore(wal.startLsn())) {
            throw new IllegalArgumentException("WAL at " + from + " of timeline " + id() + " is not in object storage"
                    + (r == null ? " (no remote storage configured)" : "; it holds [" + wal.startLsn() + ", " + offloaded + ")"));
        }
        int size = wal.segmentSize();
        long seg = from.segmentNumber(size);
        byte[] segment = r.read(id(), wal.fileName(seg), size);
        int off = from.segmentOffset(size);
        int n = (int) Math.min(Math.min(max, size - off), offloaded.minus(from));
        return java.util.Arrays.copyOfRange(segment, off, off + n);
    }

    /** The bytes of complete segment {@code segNo} from this disk (the uploader's source). */
    public byte[] readLocalSegment(long segNo) {
        int size = wal.segmentSize();
        byte[] out = new byte[size];
        Lsn begin = Lsn.ofSegment(segNo, size);
        // Below the timeline start (a timeline imported mid-segment) the segment holds zeros.
        Lsn pos = Lsn.max(begin, wal.startLsn());
        while (pos.isBefore(begin.plus(size))) {
            byte[] chunk = wal.read(pos, (int) begin.plus(size).minus(pos));
            if (chunk.length == 0) {
                throw new IllegalStateException("segment " + wal.fileName(segNo) + " of timeline " + id()
                        + " is not complete on this disk (it ends at " + pos + ")");
            }
            System.arraycopy(chunk, 0, out, (int) pos.minus(begin), chunk.length);
            pos = pos.plus(chunk.length);
        }
        return out;
    }

    /** The flush LSN in the control file on disk: where a restart's scan for the WAL end begins. */
    public Lsn persistedFlushLsn() {
        return lastPersisted.flushLsn();
    }

    /**
     * Removes WAL segments wholly below {@code horizon}, which the caller computed from what
     * the quorum and the pageserver hold ({@code WalRetention}); never at or above the persisted
     * flush LSN's segment, where a restart begins its scan. Returns the segments removed.
     */
    public int removeWalBelow(Lsn horizon) {
        return wal.removeBelow(Lsn.min(horizon, persistedFlushLsn()));
    }

    @Override
    public synchronized void close() {
        stopStreaming();
        try {
            persistIfChanged(); // lazy state only: a restart recomputes it from the WAL it reads back
        } catch (UncheckedIOException e) {
            // A full disk (a spare segment being zero-filled can take the last free space for a
            // moment) must not make close fail: nothing acknowledged depends on this write.
            LoggerFactory.getLogger(Timeline.class).warn("timeline={} closing without persisting its lazy state "
                    + "(a restart recomputes it from its WAL): {}", id(), e.getMessage());
        } finally {
            wal.close();
        }
    }
}
