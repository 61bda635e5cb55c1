package dev.strata.pageserver.timeline;

import dev.strata.pgcore.lsn.Lsn;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The one owner of a timeline's ingest position: the last record LSN, the start of that record
 * (the prev record LSN), the disk-consistent LSN and the prev record LSN persisted with it.
 * {@link LayerStore} creates it (from what its metadata says at open or create) and hands it out
 * through {@link LayerStore#position()}; {@code WalIngest}, {@code WalReceiver}, {@link Timeline},
 * GetPage and basebackup read it here and keep no copy of their own.
 *
 * <p>Readers take {@link #snapshot()}: one volatile read of an immutable {@link Snapshot}, so the
 * four LSNs it holds were all true at one moment (no lock, no retry). Writers replace the
 * snapshot under this object's lock and wake every waiter of {@link #awaitLastRecord}.
 *
 * <p>Invariants (each checked where it could break):
 * <ol>
 *   <li>The last record LSN never goes back; the disk-consistent LSN never goes back.</li>
 *   <li>The disk-consistent LSN is never above the last record LSN: a flush of layers that end
 *       above it (a freeze outside ingest, tests) raises the last record LSN to it.</li>
 *   <li>A valid prev record LSN is below its record's end: {@code prevRecordLsn < lastRecordLsn},
 *       {@code diskConsistentPrevRecordLsn < diskConsistentLsn}; INVALID means "not known".</li>
 *   <li>The last record LSN moves only once a record's puts are all in the store
 *       ({@link #recordIngested}, by ingest after the record), or when WAL without puts is
 *       reported ({@link #walIngested}: import, branch creation); never per put. So every
 *       value at or below it is complete, and that is what GetPage waits for.</li>
 *   <li>Who advances what: the last record LSN and its prev only the timeline's one ingest
 *       thread (or its creator before ingest starts); the disk-consistent pair only
 *       {@link LayerStore}'s flush, after the metadata naming it is durable.</li>
 *   <li>Every advance of the last record LSN wakes the waiters of {@link #awaitLastRecord};
 *       {@link #wakeWaiters()} wakes them to re-check their abort condition (ingest stopped,
 *       receiver closed).</li>
 * </ol>
 */
public final class IngestPosition {

    /**
     * The position at one moment.
     *
     * @param lastRecordLsn               end of the last completely ingested record
     * @param prevRecordLsn               start of that record (the next record's {@code xl_prev}), or INVALID if
     *                                    not known (WAL reported without its records)
     * @param diskConsistentLsn           every put at or below it is in a durable layer file
     * @param diskConsistentPrevRecordLsn start of the record that ends there, persisted with it, or INVALID
     */
    public record Snapshot(Lsn lastRecordLsn, Lsn prevRecordLsn, Lsn diskConsistentLsn,
                           Lsn diskConsistentPrevRecordLsn) {

        public Snapshot {
            if (lastRecordLsn == null || prevRecordLsn == null || diskConsistentLsn == null
                    || diskConsistentPrevRecordLsn == null) {
                throw new IllegalArgumentException("an ingest position needs four LSNs (INVALID for unknown)");
            }
        }

        /**
         * The start of the record that ends at {@link #lastRecordLsn()} if known: the prev record
         * LSN, or, where the last record is the disk-consistent one, the prev persisted with it.
         * INVALID otherwise.
         */
        public Lsn lastRecordStart() {
            if (prevRecordLsn.isValid()) {
                return prevRecordLsn;
            }
            return lastRecordLsn.equals(diskConsistentLsn) ? diskConsistentPrevRecordLsn : Lsn.INVALID;
        }
    }

    private final Object lock = new Object();
    private volatile Snapshot current;

    /** A position at the disk-consistent LSN of a store just opened or created (nothing ingested above it). */
    public IngestPosition(Lsn diskConsistentLsn, Lsn diskConsistentPrevRecordLsn) {
        Lsn prev = validPrev(diskConsistentPrevRecordLsn, diskConsistentLsn);
        this.current = new Snapshot(diskConsistentLsn, prev, diskConsistentLsn, prev);
    }

    private static Lsn validPrev(Lsn prev, Lsn end) {
        return prev != null && prev.isValid() && prev.isBefore(end) ? prev : Lsn.INVALID;
    }

    /** All four LSNs, consistent with each other. */
    public Snapshot snapshot() {
        return current;
    }

    public Lsn lastRecordLsn() {
        return current.lastRecordLsn();
    }

    public Lsn prevRecordLsn() {
        return current.prevRecordLsn();
    }

    public Lsn diskConsistentLsn() {
        return current.diskConsistentLsn();
    }

    public Lsn diskConsistentPrevRecordLsn() {
        return current.diskConsistentPrevRecordLsn();
    }

    /**
     * The record [{@code start}, {@code end}) is completely in the store: the last record LSN
     * moves to {@code end} with {@code start} as its prev. An {@code end} equal to the last
     * record LSN only sets its start; one below it is ignored (a resent record).
     */
    public void recordIngested(Lsn end, Lsn start) {
        if (!start.isBefore(end)) {
            throw new IllegalArgumentException("prev record LSN " + start + " must be below the record end " + end);
        }
        synchronized (lock) {
            Snapshot s = current;
            if (end.compareTo(s.lastRecordLsn()) >= 0) {
                current = new Snapshot(end, start, s.diskConsistentLsn(), s.diskConsistentPrevRecordLsn());
                lock.notifyAll();
            }
        }
    }

    /**
     * WAL up to {@code lsn} is ingested though no record's start is known with it (an import,
     * WAL without puts reported by its end): the last record LSN moves there, its prev becomes
     * INVALID. Not above: ignored.
     */
    public void walIngested(Lsn lsn) {
        synchronized (lock) {
            Snapshot s = current;
            if (lsn.isAfter(s.lastRecordLsn())) {
                current = new Snapshot(lsn, Lsn.INVALID, s.diskConsistentLsn(), s.diskConsistentPrevRecordLsn());
                lock.notifyAll();
            }
        }
    }

    /**
     * A flush made layers up to {@code lsn} durable, {@code prev} persisted with it. Raises the
     * last record LSN to it if it was below (invariant 2).
     *
     * @throws IllegalStateException if {@code lsn} is below the disk-consistent LSN
     */
    void diskConsistent(Lsn lsn, Lsn prev) {
        Lsn p = validPrev(prev, lsn);
        synchronized (lock) {
            Snapshot s = current;
            if (lsn.isBefore(s.diskConsistentLsn())) {
                throw new IllegalStateException("disk-consistent LSN cannot go back from " + s.diskConsistentLsn()
                        + " to " + lsn);
            }
            if (lsn.isAfter(s.lastRecordLsn())) {
                current = new Snapshot(lsn, p, lsn, p);
                lock.notifyAll();
            } else {
                current = new Snapshot(s.lastRecordLsn(), s.prevRecordLsn(), lsn, p);
            }
        }
    }

    /**
     * Waits until the last record LSN is at or above {@code lsn}: true when it is, false after
     * {@code timeout}. Before each wait, and after each wake, {@code abort} is asked under the
     * lock; an exception it returns is thrown (so a {@link #wakeWaiters()} after the condition
     * became true is never missed).
     */
    public boolean awaitLastRecord(Lsn lsn, Duration timeout, Supplier<? extends RuntimeException> abort)
            throws InterruptedException {
        if (current.lastRecordLsn().compareTo(lsn) >= 0) {
            return true;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (lock) {
            while (current.lastRecordLsn().compareTo(lsn) < 0) {
                RuntimeException stop = abort == null ? null : abort.get();
                if (stop != null) {
                    throw stop;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(lock, left);
            }
            return true;
        }
    }

    /** Wakes every waiter of {@link #awaitLastRecord} to re-check its abort condition. */
    public void wakeWaiters() {
        synchronized (lock) {
            lock.notifyAll();
        }
    }

    @Override
    public String toString() {
        Snapshot s = current;
        return "last_record_lsn=" + s.lastRecordLsn() + " prev_record_lsn=" + s.prevRecordLsn()
                + " disk_consistent_lsn=" + s.diskConsistentLsn() + " disk_consistent_prev_record_lsn="
                + s.diskConsistentPrevRecordLsn();
    }
}
