package dev.strata.safekeeper.receive;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.replication.IdentifySystem;
import dev.strata.pgcore.replication.ReplicationClient;
import dev.strata.pgcore.replication.ReplicationException;
import dev.strata.pgcore.replication.ReplicationSlotName;
import dev.strata.pgcore.wal.WalDecodeException;
import dev.strata.safekeeper.election.Acceptor;
import dev.strata.safekeeper.election.TermRefusedException;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams one timeline's WAL from its compute into this safekeeper (architecture §3): a
 * replication client of the compute (application_name = this node's id) whose WAL is checked
 * record by record ({@link ValidatedWal}), appended, forced once whenever the socket has no
 * more data for now (group commit), and acknowledged with the flush LSN right after each force — that acknowledgement is what lets
 * the compute's synchronous commit return.
 *
 * <p>Streams through the compute's replication slot for this safekeeper
 * ({@link ReplicationSlotName#forSafekeeper}, created by the compute agent before the compute
 * takes client work; decision 0007): the flush position it acknowledges is the slot's restart
 * LSN, so the compute keeps every byte this safekeeper has not yet made durable (up to the
 * compute's {@code max_slot_wal_keep_size}).
 *
 * <p>Reconnects with backoff while the compute's term is the promised term; stops for good
 * the moment the acceptor refuses the term (a higher one was promised) or the WAL is invalid.
 * A compute that no longer has the WAL this safekeeper needs (its slot was invalidated) is
 * not a silent reconnect loop: the state says {@code wal-removed: ...}, each occurrence is
 * counted ({@link #walRemovedCount}) and logged at WARN. The gap is then filled at once with
 * committed WAL of the current term from a peer ({@link GapFiller}), after which the compute
 * streams the rest; without a peer that has it, at the next term's election (decision 0007).
 */
public final class ComputeStreamer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ComputeStreamer.class);
    private static final Duration MIN_BACKOFF = Duration.ofMillis(50);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(2);
    /** Under continuous load, force and acknowledge at least this often, so the flush LSN keeps moving. */
    static final long MAX_BYTES_PER_FORCE = 4L << 20;

    private final String timeline;
    private final NodeId self;
    private final ComputeAddress compute;
    private final Acceptor acceptor;
    private final long systemId;
    private final int pageSize;
    private final int segmentSize;
    private final Thread loop;
    private volatile boolean stopped;
    private volatile String state = "connecting";
    private volatile ReplicationClient client;
    private final java.util.concurrent.atomic.AtomicLong walRemoved = new java.util.concurrent.atomic.AtomicLong();
    /** False once the compute said it has no slot for us (a PostgreSQL not started by the compute agent). */
    private volatile boolean useSlot = true;
    /** This stream's own thread: socket, append, force and acknowledgement all run on it. */
    private final EventLoopGroup streamLoop;

    /**
     * Fills the gap between this node's flush LSN and the WAL the compute still has with
     * committed WAL of the current term from a peer; returns whether the flush LSN moved.
     */
    @FunctionalInterface
    public interface GapFiller {
        boolean fill();

        GapFiller NONE = () -> false;
    }

    private final GapFiller gapFiller;

    public ComputeStreamer(String timeline, NodeId self, ComputeAddress compute, Acceptor acceptor, long systemId,
                           int pageSize, int segmentSize) {
        this(timeline, self, compute, acceptor, systemId, pageSize, segmentSize, GapFiller.NONE);
    }

    public ComputeStreamer(String timeline, NodeId self, ComputeAddress compute, Acceptor acceptor, long systemId,
                           int pageSize, int segmentSize, GapFiller gapFiller) {
        this.gapFiller = gapFiller;
        this.timeline = timeline;
        this.self = self;
        this.compute = compute;
        this.acceptor = acceptor;
        this.systemId = systemId;
        this.pageSize = pageSize;
        this.segmentSize = segmentSize;
        // Named, so a profile (bench/safekeeper-throughput.sh --profile) can pick the stream thread out.
        this.streamLoop = new MultiThreadIoEventLoopGroup(1,
                new io.netty.util.concurrent.DefaultThreadFactory("compute-stream-" + self, true), NioIoHandler.newFactory());
        this.loop = Thread.ofPlatform().daemon().name("compute-streamer-" + self + "-" + timeline).start(this::run);
    }

    public ComputeAddress compute() {
        return compute;
    }

    /** "connecting", "streaming", "wal-removed: ...", "stopped: reason", for status pages. */
    public String state() {
        return state;
    }

    /** How often the compute answered that the WAL this safekeeper asked for was already removed. */
    public long walRemovedCount() {
        return walRemoved.get();
    }

    public boolean isStopped() {
        return stopped;
    }

    private void run() {
        Duration backoff = MIN_BACKOFF;
        while (!stopped) {
            CompletableFuture<Throwable> ended = new CompletableFuture<>();
            try {
                Lsn before = acceptor.state().flushLsn();
                streamOnce(ended);
                Throwable cause = ended.get();
                // Only a connection that stored something resets the backoff: one that ends at
                // once (a full disk here, a compute dropping us) would otherwise reconnect every
                // 50 ms, churning walsenders on the compute and flooding both logs.
                if (acceptor.state().flushLsn().isAfter(before)) {
                    backoff = MIN_BACKOFF;
                }
                if (cause instanceof TermRefusedException || cause instanceof WalDecodeException) {
                    stop("stopped: " + cause.getMessage());
                } else if (!stopped && isWalRemoved(cause)) {
                    // Asking again soon cannot bring the WAL back, a peer can.
                    backoff = walRemoved(cause) ? MIN_BACKOFF : MAX_BACKOFF;
                } else if (!stopped) {
                    state = "reconnecting: " + (cause == null ? "closed" : cause.getMessage());
                    log.info("node={} timeline={} {} ended ({}); reconnecting", self, timeline, compute,
                            cause == null ? "closed" : cause.getMessage());
                }
            } catch (TermRefusedException e) {
                stop("stopped: " + e.getMessage());
            } catch (InterruptedException e) {
                return;
            } catch (java.util.concurrent.ExecutionException e) {
                if (rootCause(e) instanceof ForeignSystemException foreign) {
                    stop("stopped: " + foreign.getMessage()); // retrying cannot make it the right system
                } else if (useSlot && rootCause(e) instanceof ReplicationException re && "42704".equals(re.sqlState())) {
                    // No slot of ours on this server: a PostgreSQL the compute agent did not
                    // start (tests, a hand-run compute). Stream without one, and say so.
                    useSlot = false;
                    log.warn("node={} timeline={} {} has no replication slot {}: streaming without one, so it may "
                            + "remove WAL this safekeeper has not flushed", self, timeline, compute,
                            ReplicationSlotName.forSafekeeper(self));
                    continue;
                } else if (isWalRemoved(rootCause(e))) {
                    backoff = walRemoved(rootCause(e)) ? MIN_BACKOFF : MAX_BACKOFF;
                } else {
                    state = "reconnecting: " + rootMessage(e);
                    log.debug("node={} timeline={} cannot stream from {}: {}", self, timeline, compute, rootMessage(e));
                }
            } catch (Exception e) {
                state = "reconnecting: " + rootMessage(e);
                log.debug("node={} timeline={} cannot stream from {}: {}", self, timeline, compute, rootMessage(e));
            } finally {
                closeConnection();
            }
            sleep(backoff);
            backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
        }
    }

    private void streamOnce(CompletableFuture<Throwable> ended) throws Exception {
        // Refuse before connecting if the term is already stale.
        acceptor.requireCurrentTerm(compute.term());
        // Bytes a previous connection's writer appended but never forced are made durable
        // now, so the write and flush positions agree and streaming resumes right after them.
        Lsn start = acceptor.flush();
        ValidatedWal validated = new ValidatedWal(start, pageSize, segmentSize, systemId);
        // Everything below runs on this stream's own event loop thread, in order: append what
        // arrived, and when the socket has nothing more (or MAX_BYTES_PER_FORCE arrived), force
        // once and acknowledge. One thread from socket to fsync to acknowledgement, as
        // PostgreSQL's walreceiver does; a blocked loop simply stops reading (backpressure).
        ReplicationClient.Listener listener = new ReplicationClient.Listener() {
            private long sinceForce;

            @Override
            public boolean onWal(Lsn at, byte[] payload, Lsn serverWalEnd) {
                try {
                    ValidatedWal.Released ok = validated.accept(at, payload);
                    if (ok != null) {
                        acceptor.append(compute.term(), ok.start(), ok.buffer(), ok.offset(), ok.length());
                        sinceForce += ok.length();
                        if (sinceForce >= MAX_BYTES_PER_FORCE) {
                            acknowledge(acceptor.flush());
                        }
                    }
                    return true;
                } catch (WalDecodeException e) {
                    log.error("node={} timeline={} refusing WAL from {}: {}", self, timeline, compute, e.getMessage());
                    endAfterForcingWhatWasAppended(e);
                    return false;
                } catch (RuntimeException e) {
                    // A higher term was promised, or the disk failed (full: the next segment could
                    // not be created after this batch filled the one before it).
                    endAfterForcingWhatWasAppended(e);
                    return false;
                }
            }

            /**
             * The records appended before the failure (this read batch may be many MiB, spanning
             * segments) are made durable before the stream ends and the failure is reported, so
             * the timeline holds, and its status shows, every valid byte that reached the disk.
             * Nothing is acknowledged: the stream ends here. A store stopped by a failed fsync
             * refuses the force (decision 0010), which is added to the failure.
             */
            private void endAfterForcingWhatWasAppended(Exception e) {
                try {
                    acceptor.flush();
                } catch (RuntimeException flushFailed) {
                    e.addSuppressed(flushFailed);
                }
                ended.complete(e);
            }

            @Override
            public Lsn onReadBatchEnd() {
                if (sinceForce == 0 || ended.isDone()) {
                    return null;
                }
                try {
                    sinceForce = 0;
                    return acceptor.flush();
                } catch (RuntimeException e) {
                    ended.complete(e);
                    return null;
                }
            }

            private void acknowledge(Lsn flushed) {
                sinceForce = 0;
                ReplicationClient c = client;
                if (c != null) {
                    c.sendStatus(flushed, flushed, Lsn.INVALID);
                }
            }

            @Override
            public void onKeepalive(Lsn serverWalEnd, boolean replyRequested) {
                ReplicationClient c = client;
                if (replyRequested && c != null) {
                    Lsn f = acceptor.state().flushLsn();
                    c.sendStatus(f, f, Lsn.INVALID);
                }
            }

            @Override
            public void onClosed(Throwable cause) {
                ended.complete(cause);
            }
        };
        ReplicationClient.Options options = new ReplicationClient.Options(compute.host(), compute.port(), compute.user(),
                compute.password(), self.value(), Duration.ofSeconds(5))
                .withSlot(useSlot ? ReplicationSlotName.forSafekeeper(self) : null);
        client = ReplicationClient.start(streamLoop, options, system -> checkSystem(system, start), listener)
                .get(30, TimeUnit.SECONDS);
        state = "streaming from " + compute + " at " + start + (useSlot ? "" : " without a slot");
        log.info("node={} timeline={} streaming from {} at {}", self, timeline, compute, start);
    }

    /**
     * The compute's walsender answered "requested WAL segment ... has already been removed"
     * (SQLSTATE 58P01, from opening the segment) or refused the slot because it was
     * invalidated (55000 with "invalidated"/"no longer"): the WAL this safekeeper needs is gone
     * from the compute.
     */
    static boolean isWalRemoved(Throwable cause) {
        if (!(cause instanceof ReplicationException re) || re.getMessage() == null) {
            return false;
        }
        String m = re.getMessage();
        return m.contains("has already been removed") || m.contains("58P01")
                || (m.contains("replication slot") && (m.contains("invalidated") || m.contains("no longer")));
    }

    /** Records the answer and fills the gap from a peer if one can; true if the flush LSN moved. */
    private boolean walRemoved(Throwable cause) {
        long n = walRemoved.incrementAndGet();
        Lsn needed = acceptor.state().flushLsn();
        state = "wal-removed: needs " + needed + ", the compute no longer has it (" + n + " time(s)): "
                + cause.getMessage();
        // WARN, not DEBUG: with the slot in place this only happens when max_slot_wal_keep_size
        // was exceeded or this safekeeper lost its disk; it is out of the quorum until a peer
        // fills the gap (below), or else until the next term.
        if (n == 1 || n % 30 == 0) {
            log.warn("node={} timeline={} compute={} needs={} count={} the compute has removed WAL this safekeeper "
                    + "needs: {}", self, timeline, compute, needed, n, cause.getMessage());
        }
        boolean filled;
        try {
            filled = gapFiller.fill();
        } catch (RuntimeException e) {
            log.warn("node={} timeline={} catching up from a peer failed: {}", self, timeline, e.toString());
            filled = false;
        }
        if (filled) {
            state = "caught up from a peer to " + acceptor.state().flushLsn() + " (the compute no longer had " + needed
                    + "); reconnecting";
        }
        return filled;
    }

    private Lsn checkSystem(IdentifySystem system, Lsn start) {
        if (systemId != 0 && system.systemId() != systemId) {
            throw new ForeignSystemException(compute + " is system " + system.systemIdText() + ", but timeline " + timeline
                    + " belongs to system " + Long.toUnsignedString(systemId));
        }
        return start;
    }

    private void stop(String why) {
        stopped = true;
        state = why;
        log.warn("node={} timeline={} stopped streaming from {}: {}", self, timeline, compute, why);
    }

    private void closeConnection() {
        ReplicationClient c = client;
        client = null;
        if (c != null) {
            c.close();
        }
    }

    @Override
    public void close() {
        stopped = true;
        state = "stopped";
        closeConnection();
        loop.interrupt();
        try {
            loop.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        streamLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Throwable rootCause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = rootCause(e);
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    /** The compute's IDENTIFY_SYSTEM names another PostgreSQL system than the timeline's. */
    static final class ForeignSystemException extends RuntimeException {
        ForeignSystemException(String message) {
            super(message);
        }
    }
}
