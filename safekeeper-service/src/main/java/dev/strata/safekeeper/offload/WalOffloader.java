package dev.strata.safekeeper.offload;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.safekeeper.control.SafekeeperState;
import dev.strata.safekeeper.timeline.Timeline;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Uploads one timeline's complete segments below the commit LSN to object storage, in order,
 * while this node is the timeline's uploader ({@link UploaderChoice}), on a thread of its own:
 * nothing on the WAL receive or walsender path waits for S3.
 *
 * <p>Each pass starts at the offloaded LSN (the node's own, raised by what peers report, so a
 * takeover resumes where the previous uploader stopped), uploads the next segment whose end is
 * at or below {@code min(commit LSN, flush LSN)}, and only then raises the offloaded LSN and
 * persists it with the control file (fsynced): the offloaded LSN never claims a segment S3 does
 * not hold. A failure (S3 down, after the storage's own retries) leaves the LSN where it is and
 * the pass is tried again with backoff (0.5 s doubling to {@link #MAX_BACKOFF}); local WAL is kept
 * meanwhile because retention waits for the offloaded LSN.
 *
 * <p>The uploader also removes WAL that only a long-dead member could still want: the segments
 * entirely below the segment of {@code remote-consistent LSN - }{@link #DEFAULT_RETAIN_BEHIND}.
 * Below the remote-consistent LSN the pageserver holds the history in S3 layers and its index (a
 * pageserver that attaches, and every branch, read history from layers and WAL only after that
 * LSN); the margin keeps the WAL a safekeeper that was down for a while, or lost its disk, needs
 * to catch up from. {@link #trimRemote} runs after the uploads of a pass, at most every
 * {@link #TRIM_INTERVAL}, and only when that segment moved. Before this, offloaded WAL was never
 * deleted (issue 13).
 */
public final class WalOffloader implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WalOffloader.class);
    static final Duration IDLE_POLL = Duration.ofMillis(200);
    static final Duration MIN_BACKOFF = Duration.ofMillis(500);
    static final Duration MAX_BACKOFF = Duration.ofSeconds(5);
    static final Duration TRIM_INTERVAL = Duration.ofSeconds(10);
    /** WAL kept in object storage below the remote-consistent LSN: 4 GiB (256 segments of 16 MiB). */
    public static final long DEFAULT_RETAIN_BEHIND = 4L << 30;

    private final Timeline timeline;
    private final RemoteWal remote;
    private final BooleanSupplier isUploader;
    private final String who;
    private final Thread thread;
    private volatile boolean closed;
    private volatile String lastError = "";
    private volatile long segmentsUploaded;
    private volatile long segmentsTrimmed;
    /** Segments below this one are deleted from object storage (by this node, since it started). */
    private long trimmedBelow = -1;
    private long lastTrimNanos;
    private volatile long retainBehind = DEFAULT_RETAIN_BEHIND;

    public WalOffloader(Timeline timeline, RemoteWal remote, BooleanSupplier isUploader, String who) {
        this.timeline = timeline;
        this.remote = remote;
        this.isUploader = isUploader;
        this.who = who;
        timeline.enableOffload(remote);
        this.thread = Thread.ofVirtual().name("wal-offload-" + who + "-" + timeline.id()).start(this::run);
    }

    /** The last failure's message ("" after a successful upload). */
    public String lastError() {
        return lastError;
    }

    /** Segments this node uploaded since it started. */
    public long segmentsUploaded() {
        return segmentsUploaded;
    }

    /** Keeps {@code bytes} of WAL below the remote-consistent LSN in object storage (tests shorten it). */
    void retainBehind(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("retain-behind must not be negative, got " + bytes);
        }
        this.retainBehind = bytes;
    }

    /** Offloaded segments this node deleted from object storage since it started. */
    public long segmentsTrimmed() {
        return segmentsTrimmed;
    }

    /**
     * Deletes, while this node is the uploader, the offloaded segments below the segment of
     * {@code min(remote-consistent, offloaded LSN) - retain-behind}; returns how many.
     */
    public synchronized int trimRemote() {
        if (closed || !isUploader.getAsBoolean()) {
            return 0;
        }
        SafekeeperState s = timeline.acceptor().state();
        Lsn horizon = Lsn.min(s.remoteConsistentLsn(), s.offloadedLsn());
        if (!horizon.isValid() || horizon.value() - s.timelineStartLsn().value() <= retainBehind) {
            return 0;
        }
        horizon = Lsn.of(horizon.value() - retainBehind);
        long keepFrom = horizon.segmentNumber(s.walSegmentSize());
        if (keepFrom <= trimmedBelow) {
            return 0;
        }
        int n = remote.deleteBefore(timeline.id(), timeline.wal().fileName(keepFrom));
        trimmedBelow = keepFrom;
        segmentsTrimmed += n;
        return n;
    }

    /**
     * Uploads every segment that is ready now (while this node is the uploader); returns how
     * many. Throws what the storage threw; what was uploaded before it stays recorded.
     */
    public int uploadReady() {
        int uploaded = 0;
        while (!closed && isUploader.getAsBoolean()) {
            SafekeeperState s = timeline.acceptor().state();
            int size = s.walSegmentSize();
            Lsn limit = Lsn.min(s.commitLsn(), s.flushLsn());
            long seg = s.offloadedLsn().segmentNumber(size);
            Lsn segEnd = Lsn.ofSegment(seg + 1, size);
            if (segEnd.isAfter(limit)) {
                return uploaded;
            }
            if (Lsn.ofSegment(seg, size).isBefore(timeline.wal().retainedStart())
                    && s.offloadedLsn().isBefore(timeline.wal().retainedStart())) {
                // Not on this disk (it lost its directory and recovered only newer WAL): a member that
                // has it must upload it. Said once per pass, no spinning.
                throw new IllegalStateException("segment " + timeline.wal().fileName(seg) + " is below the WAL on this"
                        + " disk (from " + timeline.wal().retainedStart() + ") and not yet offloaded");
            }
            byte[] bytes = timeline.readLocalSegment(seg);
            String key = remote.upload(timeline.id(), timeline.wal().fileName(seg), bytes);
            timeline.recordOffloaded(segEnd);
            segmentsUploaded++;
            uploaded++;
            lastError = "";
            log.debug("node={} timeline={} offloaded {} (offloaded LSN now {})", who, timeline.id(), key, segEnd);
        }
        return uploaded;
    }

    private void run() {
        long backoff = MIN_BACKOFF.toMillis();
        while (!closed) {
            long sleep = IDLE_POLL.toMillis();
            try {
                int n = uploadReady();
                if (n > 0) {
                    log.info("node={} timeline={} offloaded {} segment(s); offloaded LSN {}", who, timeline.id(), n,
                            timeline.offloadedLsn());
                }
                if (System.nanoTime() - lastTrimNanos >= TRIM_INTERVAL.toNanos()) {
                    lastTrimNanos = System.nanoTime();
                    int trimmed = trimRemote();
                    if (trimmed > 0) {
                        log.info("node={} timeline={} deleted {} offloaded segment(s) below the remote-consistent LSN {}",
                                who, timeline.id(), trimmed, timeline.acceptor().state().remoteConsistentLsn());
                    }
                }
                backoff = MIN_BACKOFF.toMillis();
            } catch (RuntimeException e) {
                if (closed) {
                    return;
                }
                String msg = e.getMessage() == null ? e.toString() : e.getMessage();
                if (!msg.equals(lastError)) {
                    log.warn("node={} timeline={} WAL offload failed at {} (retrying in {} ms): {}", who, timeline.id(),
                            timeline.offloadedLsn(), backoff, msg);
                }
                lastError = msg;
                sleep = backoff;
                backoff = Math.min(MAX_BACKOFF.toMillis(), backoff * 2);
            }
            try {
                Thread.sleep(sleep); // polling: a new complete segment waits at most this long
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(Duration.ofSeconds(30)); // an upload in flight ends within the storage's timeouts
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
