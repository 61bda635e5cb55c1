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
 */
public final class WalOffloader implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WalOffloader.class);
    static final Duration IDLE_POLL = Duration.ofMillis(200);
    static final Duration MIN_BACKOFF = Duration.ofMillis(500);
    static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

    private final Timeline timeline;
    private final RemoteWal remote;
    private final BooleanSupplier isUploader;
    private final String who;
    private final Thread thread;
    private volatile boolean closed;
    private volatile String lastError = "";
    private volatile long segmentsUploaded;

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
