package dev.strata.pageserver.ingest;

import dev.strata.pgcore.lsn.Lsn;

import java.util.ArrayDeque;

/**
 * The hand-off from the replication client's event loop to the ingest thread: WAL chunks in
 * stream order, bounded by bytes. When full, {@link #offer} tells the event loop to stop
 * reading the socket (TCP then slows the walsender); the ingest thread resumes it once the
 * queue has drained below half. One connection's worth; a reconnect gets a new one.
 */
final class WalChunks {

    record Chunk(Lsn start, byte[] bytes) {
    }

    /** Marks the end of the stream. */
    static final Chunk END = new Chunk(Lsn.INVALID, new byte[0]);

    private static final long MAX_BYTES = 32L << 20;

    private final ArrayDeque<Chunk> queue = new ArrayDeque<>();
    private long bytes;
    private boolean paused;
    private boolean ended;
    private boolean statusRequested;
    private Throwable cause;
    private Runnable resume = () -> {
    };

    /** Event loop: queues a chunk; false if the socket should pause until resumed. */
    synchronized boolean offer(Lsn start, byte[] payload) {
        if (ended) {
            return true;
        }
        queue.add(new Chunk(start, payload));
        bytes += payload.length;
        notifyAll();
        if (bytes >= MAX_BYTES) {
            paused = true;
            return false;
        }
        return true;
    }

    synchronized void requestStatus() {
        statusRequested = true;
        notifyAll();
    }

    synchronized boolean takeStatusRequest() {
        boolean r = statusRequested;
        statusRequested = false;
        return r;
    }

    synchronized void close(Throwable why) {
        ended = true;
        cause = why;
        notifyAll();
    }

    synchronized Throwable cause() {
        return cause;
    }

    synchronized void onResume(Runnable r) {
        this.resume = r;
    }

    /**
     * Ingest thread: the next chunk, {@link #END} once the connection ended and the queue is
     * empty, or null after {@code timeoutMillis} with nothing to do.
     */
    Chunk take(long timeoutMillis) throws InterruptedException {
        Runnable toRun = null;
        Chunk c;
        synchronized (this) {
            if (queue.isEmpty() && !ended && !statusRequested) {
                wait(timeoutMillis);
            }
            c = queue.poll();
            if (c == null) {
                return ended ? END : null;
            }
            bytes -= c.bytes().length;
            if (paused && bytes < MAX_BYTES / 2) {
                paused = false;
                toRun = resume;
            }
        }
        if (toRun != null) {
            toRun.run(); // outside the lock: resume touches the channel
        }
        return c;
    }
}
