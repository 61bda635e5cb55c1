package dev.strata.safekeeper.receive;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import dev.strata.safekeeper.election.Acceptor;
import java.util.ArrayDeque;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The single writer of one timeline's WAL while a compute streams to it: group commit by
 * explicit triggers. The network thread {@link #submit}s chunks; this thread appends every
 * chunk that is queued, then forces once for all of them and reports the new flush LSN, which
 * the receiver acknowledges to the compute. A force happens when the queue drains, or after
 * {@link #MAX_BYTES_PER_FORCE} bytes under continuous load, so the flush LSN keeps moving.
 *
 * <p>The queue is bounded in bytes: {@link #submit} returns false when it is over
 * {@link #MAX_QUEUED_BYTES}, and the receiver stops reading from the socket until
 * {@code onDrained} runs (TCP backpressure to the compute).
 */
public final class WalWriter implements AutoCloseable {

    public static final long MAX_BYTES_PER_FORCE = 4L << 20;
    public static final long MAX_QUEUED_BYTES = 32L << 20;
    private static final Logger log = LoggerFactory.getLogger(WalWriter.class);

    private record Chunk(Lsn at, byte[] data) {
    }

    private final Acceptor acceptor;
    private final Term term;
    private final Consumer<Lsn> onFlushed;
    private final Consumer<RuntimeException> onFailure;
    private final Runnable onDrained;
    private final ArrayDeque<Chunk> queue = new ArrayDeque<>();
    private final Thread thread;
    private long queuedBytes;
    private boolean paused;
    private volatile boolean closed;

    /**
     * @param onFlushed called on the writer thread with each new flush LSN
     * @param onFailure called once if an append is refused (e.g. a higher term was promised) or I/O fails; the writer stops
     * @param onDrained called when the queue fell below the limit after a {@code submit} returned false
     */
    public WalWriter(String name, Acceptor acceptor, Term term, Consumer<Lsn> onFlushed,
                     Consumer<RuntimeException> onFailure, Runnable onDrained) {
        this.acceptor = acceptor;
        this.term = term;
        this.onFlushed = onFlushed;
        this.onFailure = onFailure;
        this.onDrained = onDrained;
        this.thread = Thread.ofPlatform().name("wal-writer-" + name).daemon().start(this::run);
    }

    /** Queues WAL bytes that belong at {@code at}; false if the queue is now full (pause reading). */
    public boolean submit(Lsn at, byte[] data) {
        synchronized (queue) {
            if (closed) {
                return true;
            }
            queue.addLast(new Chunk(at, data));
            queuedBytes += data.length;
            queue.notifyAll();
            if (queuedBytes >= MAX_QUEUED_BYTES) {
                paused = true;
                return false;
            }
            return true;
        }
    }

    private void run() {
        try {
            while (!closed) {
                long sinceForce = 0;
                Chunk c = take();
                while (c != null) {
                    acceptor.append(term, c.at, c.data, 0, c.data.length);
                    sinceForce += c.data.length;
                    if (sinceForce >= MAX_BYTES_PER_FORCE) {
                        break;
                    }
                    c = poll();
                }
                if (sinceForce > 0) {
                    Lsn flushed = acceptor.flush();
                    onFlushed.accept(flushed);
                }
            }
        } catch (InterruptedException e) {
            // closed
        } catch (RuntimeException e) {
            if (!closed) {
                log.warn("WAL writer {} stopped: {}", thread.getName(), e.getMessage());
                closed = true;
                onFailure.accept(e);
            }
        }
    }

    private Chunk take() throws InterruptedException {
        synchronized (queue) {
            while (queue.isEmpty() && !closed) {
                queue.wait(1000);
            }
            return dequeue();
        }
    }

    private Chunk poll() {
        synchronized (queue) {
            return dequeue();
        }
    }

    private Chunk dequeue() {
        Chunk c = queue.pollFirst();
        if (c != null) {
            queuedBytes -= c.data.length;
            if (paused && queuedBytes < MAX_QUEUED_BYTES / 2) {
                paused = false;
                onDrained.run();
            }
        }
        return c;
    }

    /** Stops the writer; queued bytes not yet appended are dropped (they were never acknowledged). */
    @Override
    public void close() {
        closed = true;
        synchronized (queue) {
            queue.clear();
            queue.notifyAll();
        }
        // No interrupt: an interrupted FileChannel write closes the channel under the WAL store.
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
