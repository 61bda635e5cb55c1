package dev.strata.pageserver.ingest;

import dev.strata.pageserver.timeline.IngestPosition;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.replication.IdentifySystem;
import dev.strata.pgcore.replication.ReplicationClient;
import dev.strata.pgcore.replication.ReplicationException;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.WalDecodeException;
import dev.strata.pgcore.wal.WalDecoder;
import io.netty.channel.EventLoopGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Streams a timeline's committed WAL from a walsender (a safekeeper's, or a stock
 * PostgreSQL's: same protocol) and ingests it. One thread per timeline: it connects with
 * {@link ReplicationClient}, starting at the timeline start (a segment start) when nothing
 * is ingested yet and otherwise at the last record LSN, decodes with a {@link WalDecoder},
 * hands records to {@link WalIngest}, and reconnects with exponential backoff when the
 * connection ends. An {@link IngestException} or a {@link WalDecodeException} stops the
 * receiver for good: reconnecting would only meet the same record again.
 *
 * <p>The receiver keeps no ingest position of its own: where to resume, what to report and
 * what readers wait for are the timeline's {@link IngestPosition}, which {@link WalIngest}
 * advances after each record.
 *
 * <p>The network listener runs on the event loop and only queues chunks ({@link WalChunks},
 * bounded; the socket pauses when it is full), so decoding and puts never block Netty.
 */
public final class WalReceiver implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WalReceiver.class);
    private static final Duration MIN_BACKOFF = Duration.ofMillis(100);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(10);
    private static final int DEFAULT_PAGE_SIZE = 8192;
    private static final int DEFAULT_SEGMENT_SIZE = 16 << 20;
    private static final long STATUS_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** The timeline of the store {@link #ingest} fills. */
    private final TimelineId timeline;
    private final WalIngest ingest;
    private final java.util.List<ReplicationClient.Options> sources;
    private final EventLoopGroup group;
    private final Lsn timelineStart;
    /** True if {@link #timelineStart} is a record boundary (decode with atRecord), false if a segment start. */
    private final boolean startsAtRecord;
    private final Lsn startPrevRecordLsn;
    private int sourceIndex;
    private volatile ReplicationClient.Options options;
    private final IngestPosition position;
    private final Thread thread;

    private volatile Lsn sourceWalEnd = Lsn.INVALID;
    private volatile Status status = new Status(Phase.STARTING, "");
    private volatile boolean closed;
    private volatile RuntimeException failure;
    private volatile ReplicationClient client;
    private int pageSize = DEFAULT_PAGE_SIZE;
    private int segmentSize = DEFAULT_SEGMENT_SIZE;

    /**
     * @param timelineStart where the timeline's WAL starts: a segment start, used while
     *                      nothing has been ingested yet
     */
    public WalReceiver(WalIngest ingest, Lsn timelineStart, ReplicationClient.Options options,
                       EventLoopGroup group) {
        if (timelineStart.segmentOffset(DEFAULT_SEGMENT_SIZE) != 0 && timelineStart.segmentOffset(1 << 20) != 0) {
            throw new IllegalArgumentException("timeline start " + timelineStart + " is not a segment start");
        }
        this.timeline = ingest.timelineId();
        this.ingest = ingest;
        this.sources = java.util.List.of(options);
        this.options = options;
        this.group = group;
        this.timelineStart = timelineStart;
        this.startsAtRecord = false;
        this.startPrevRecordLsn = Lsn.INVALID;
        this.position = ingest.position();
        this.thread = Thread.ofPlatform().daemon().name("wal-receiver-" + timeline).unstarted(this::run);
    }

    /**
     * A receiver that starts decoding at a record boundary, which need not be a segment start
     * (an imported timeline starts right after initdb's shutdown checkpoint record, mid-segment),
     * and streams from several sources: when one fails or ends, the next is tried (round robin,
     * with the same backoff).
     *
     * @param startLsn           start of the first record to ingest (8-byte aligned, not inside a page header),
     *                           used while nothing has been ingested past it
     * @param startPrevRecordLsn that record's expected {@code xl_prev}, or {@link Lsn#INVALID} if unknown
     * @param sources            walsenders to stream from, tried in order; at least one
     */
    public WalReceiver(WalIngest ingest, Lsn startLsn, Lsn startPrevRecordLsn,
                       java.util.List<ReplicationClient.Options> sources, EventLoopGroup group) {
        if (sources == null || sources.isEmpty()) {
            throw new IllegalArgumentException("timeline " + ingest.timelineId() + ": no WAL sources");
        }
        if (startLsn.value() % 8 != 0) {
            throw new IllegalArgumentException("start " + startLsn + " is not a record boundary (8-byte aligned)");
        }
        this.timeline = ingest.timelineId();
        this.ingest = ingest;
        this.sources = java.util.List.copyOf(sources);
        this.options = this.sources.get(0);
        this.group = group;
        this.timelineStart = startLsn;
        this.startsAtRecord = true;
        this.startPrevRecordLsn = startPrevRecordLsn == null ? Lsn.INVALID : startPrevRecordLsn;
        this.position = ingest.position();
        this.thread = Thread.ofPlatform().daemon().name("wal-receiver-" + timeline).unstarted(this::run);
    }

    /** The walsender streamed from now (or tried next). */
    public ReplicationClient.Options currentSource() {
        return options;
    }

    public WalReceiver start() {
        thread.start();
        return this;
    }

    /**
     * How far the source's WAL is ahead of ingest: the newest end of WAL a source reported (in a
     * data message or keepalive) minus the last record ingested, never negative.
     */
    public long lagBytes() {
        Lsn end = sourceWalEnd;
        Lsn have = position.lastRecordLsn();
        return end.isAfter(have) ? end.minus(have) : 0;
    }

    /** End LSN of the last ingested record (the timeline's {@link IngestPosition}). */
    public Lsn lastRecordLsn() {
        return position.lastRecordLsn();
    }

    /** Start LSN of the last ingested record (the next record's {@code xl_prev}), if known. */
    public Lsn prevRecordLsn() {
        return position.snapshot().lastRecordStart();
    }

    /**
     * Where the receiver is in its life. Moves STARTING, then CONNECTING, STREAMING and
     * RECONNECTING round the loop, and ends in STOPPED (ingest failed for good) or CLOSED.
     */
    public enum Phase {
        STARTING("starting", ""),
        CONNECTING("connecting", " to "),
        STREAMING("streaming", " from "),
        RECONNECTING("reconnecting", ": "),
        STOPPED("stopped", ": "),
        CLOSED("closed", "");

        private final String label;
        private final String detailSeparator;

        Phase(String label, String detailSeparator) {
            this.label = label;
            this.detailSeparator = detailSeparator;
        }

        /** The lowercase word the status text starts with. */
        public String label() {
            return label;
        }
    }

    /**
     * The phase and what it concerns (the source, or why), e.g. STREAMING with
     * {@code "host:port at 0/1A2B3C"}; STARTING and CLOSED have none ("").
     */
    public record Status(Phase phase, String detail) {
        public Status {
            if (phase == null || detail == null) {
                throw new IllegalArgumentException("a receiver status needs a phase and a detail (\"\" for none)");
            }
        }

        /**
         * The text the management API shows: "starting", "connecting to SOURCE", "streaming from
         * SOURCE at LSN", "reconnecting: why", "stopped: why", "closed".
         */
        public String describe() {
            return phase.detailSeparator.isEmpty() ? phase.label : phase.label + phase.detailSeparator + detail;
        }
    }

    /** The phase and its detail now. */
    public Status status() {
        return status;
    }

    /** {@link Status#describe()} of the status now. */
    public String state() {
        return status.describe();
    }

    /** The error that stopped ingest for good, or null. */
    public RuntimeException failure() {
        return failure;
    }

    /**
     * Waits until the last record LSN is at or above {@code lsn} (GetPage@LSN's wait). Throws
     * {@link WalWaitTimeoutException} after {@code timeout}, or at once the error that stopped
     * ingest: a reader must never get a page from a timeline that cannot reach its LSN.
     */
    public void awaitLsn(Lsn lsn, Duration timeout) throws InterruptedException {
        if (!position.awaitLastRecord(lsn, timeout, () -> whyNot(lsn))) {
            throw new WalWaitTimeoutException(timeline, lsn, position.lastRecordLsn(), timeout, state());
        }
    }

    /** Why WAL up to {@code lsn} will not come from this receiver, or null while it may. */
    private RuntimeException whyNot(Lsn lsn) {
        if (closed) {
            return new IllegalStateException("timeline " + timeline + ": WAL receiver is closed at "
                    + position.lastRecordLsn() + ", WAL up to " + lsn + " will not come");
        }
        RuntimeException f = failure;
        if (f != null) {
            return new IllegalStateException("timeline " + timeline + ": WAL up to " + lsn
                    + " cannot be ingested: " + f.getMessage(), f);
        }
        return null;
    }

    private void run() {
        Duration backoff = MIN_BACKOFF;
        while (!closed) {
            WalChunks chunks = new WalChunks();
            try {
                Lsn start = streamOnce(chunks);
                backoff = MIN_BACKOFF;
                consume(chunks, start);
            } catch (IngestException | WalDecodeException e) {
                stop(e);
                return;
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                status = new Status(Phase.RECONNECTING, rootMessage(e));
                log.info("timeline={} stream from {} ended: {}", timeline, options, rootMessage(e));
                if (sources.size() > 1) {
                    sourceIndex = (sourceIndex + 1) % sources.size();
                    options = sources.get(sourceIndex);
                }
            } finally {
                closeClient();
            }
            if (closed) {
                return;
            }
            try {
                Thread.sleep(backoff.toMillis());
            } catch (InterruptedException e) {
                return;
            }
            backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
        }
    }

    /** Called on the replication client's thread only: the newest end of WAL reported (a new source may be behind). */
    private void noteSourceWalEnd(Lsn serverWalEnd) {
        if (serverWalEnd != null && serverWalEnd.isValid()) {
            sourceWalEnd = serverWalEnd;
        }
    }

    /** Connects and starts streaming; returns the LSN streaming starts at. */
    private Lsn streamOnce(WalChunks chunks) throws Exception {
        status = new Status(Phase.CONNECTING, options.toString());
        Lsn last = position.lastRecordLsn();
        boolean fresh = !last.isAfter(timelineStart);
        Lsn start = fresh ? timelineStart : last;
        ReplicationClient.Listener listener = new ReplicationClient.Listener() {
            @Override
            public boolean onWal(Lsn at, byte[] payload, Lsn serverWalEnd) {
                noteSourceWalEnd(serverWalEnd);
                return chunks.offer(at, payload);
            }

            @Override
            public void onKeepalive(Lsn serverWalEnd, boolean replyRequested) {
                noteSourceWalEnd(serverWalEnd);
                if (replyRequested) {
                    chunks.requestStatus();
                }
            }

            @Override
            public void onClosed(Throwable cause) {
                chunks.close(cause);
            }
        };
        client = ReplicationClient.start(group, options, (IdentifySystem system) -> start, listener)
                .get(options.connectTimeout().toMillis() + 30_000, TimeUnit.MILLISECONDS);
        chunks.onResume(() -> {
            ReplicationClient c = client;
            if (c != null) {
                c.resume();
            }
        });
        status = new Status(Phase.STREAMING, options + " at " + start);
        log.info("timeline={} streaming from {} at {}", timeline, options, start);
        return start;
    }

    /** Decodes and ingests until the connection ends (returns) or ingest must stop (throws). */
    private void consume(WalChunks chunks, Lsn start) throws Exception {
        IngestPosition.Snapshot at = position.snapshot();
        boolean fresh = start.equals(timelineStart) && !at.lastRecordLsn().isAfter(timelineStart);
        WalDecoder decoder;
        if (fresh && startsAtRecord) {
            decoder = WalDecoder.atRecord(start, startPrevRecordLsn.isValid() ? startPrevRecordLsn : null, pageSize,
                    segmentSize);
        } else if (fresh) {
            decoder = WalDecoder.atSegmentStart(start);
        } else {
            Lsn prev = at.lastRecordStart();
            decoder = WalDecoder.atRecord(start, prev.isValid() ? prev : null, pageSize, segmentSize);
        }
        long lastStatus = System.nanoTime();
        while (!closed) {
            WalChunks.Chunk c = chunks.take(200);
            if (c == WalChunks.END) {
                Throwable cause = chunks.cause();
                throw new ReplicationException("connection ended" + (cause == null ? "" : ": " + rootMessage(cause)),
                        cause);
            }
            if (c != null) {
                if (!c.start().equals(decoder.streamEnd())) {
                    throw new ReplicationException("walsender sent WAL at " + c.start() + ", expected "
                            + decoder.streamEnd(), (Throwable) null);
                }
                decoder.feed(c.bytes());
                DecodedRecord r;
                while ((r = decoder.poll()) != null) {
                    ingest.ingest(r); // advances the position, which wakes readers waiting for it
                }
                if (decoder.pageSize() != 0) {
                    pageSize = decoder.pageSize();
                    segmentSize = decoder.segmentSize();
                }
            }
            if (chunks.takeStatusRequest() || System.nanoTime() - lastStatus > STATUS_INTERVAL_NANOS) {
                // Flush position = what is in layer files (disk-consistent), not what was applied:
                // a safekeeper may drop WAL below the flush position it hears from the pageserver.
                ReplicationClient cl = client;
                if (cl != null) {
                    cl.sendStatus(decoder.streamEnd(), ingest.durableLsn(), position.lastRecordLsn());
                }
                lastStatus = System.nanoTime();
            }
        }
    }

    private void stop(RuntimeException e) {
        log.error("timeline={} ingest stopped: {}", timeline, e.getMessage());
        failure = e;
        status = new Status(Phase.STOPPED, String.valueOf(e.getMessage()));
        position.wakeWaiters(); // after the failure is set: waiters re-check it under the position's lock
    }

    private void closeClient() {
        ReplicationClient c = client;
        client = null;
        if (c != null) {
            c.close();
        }
    }

    private static String rootMessage(Throwable t) {
        Throwable r = t;
        while (r.getCause() != null && r.getCause() != r) {
            r = r.getCause();
        }
        return r.getMessage() == null ? r.toString() : r.getMessage();
    }

    /** Stops streaming and the thread; waits for it (bounded). */
    @Override
    public void close() {
        closed = true;
        status = new Status(Phase.CLOSED, "");
        position.wakeWaiters(); // waiting readers learn at once
        closeClient();
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
