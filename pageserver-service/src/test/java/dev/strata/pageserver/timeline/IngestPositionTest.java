package dev.strata.pageserver.timeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.lsn.Lsn;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** The ingest position's invariants (its javadoc), without a store: pure in-memory, bounded. */
class IngestPositionTest {

    private static final Duration LONG = Duration.ofSeconds(60);

    @Test
    void startsAtTheDiskConsistentPairAndKnowsTheLastRecordStartThere() {
        IngestPosition p = new IngestPosition(Lsn.of(0x100), Lsn.of(0xC8));
        IngestPosition.Snapshot s = p.snapshot();
        assertThat(s).isEqualTo(new IngestPosition.Snapshot(Lsn.of(0x100), Lsn.of(0xC8), Lsn.of(0x100), Lsn.of(0xC8)));
        assertThat(s.lastRecordStart()).isEqualTo(Lsn.of(0xC8));
        // A prev at or above its end is not a start: unknown.
        assertThat(new IngestPosition(Lsn.of(0x100), Lsn.of(0x100)).prevRecordLsn()).isEqualTo(Lsn.INVALID);
    }

    @Test
    void lastRecordAndDiskConsistentNeverGoBack() {
        IngestPosition p = new IngestPosition(Lsn.of(0x100), Lsn.INVALID);
        p.recordIngested(Lsn.of(0x200), Lsn.of(0x180));
        p.recordIngested(Lsn.of(0x150), Lsn.of(0x120)); // a resent record: ignored
        assertThat(p.snapshot().lastRecordLsn()).isEqualTo(Lsn.of(0x200));
        assertThat(p.snapshot().prevRecordLsn()).isEqualTo(Lsn.of(0x180));
        p.walIngested(Lsn.of(0x1F0)); // below: ignored
        assertThat(p.lastRecordLsn()).isEqualTo(Lsn.of(0x200));
        p.walIngested(Lsn.of(0x300)); // WAL without its record's start
        assertThat(p.snapshot().lastRecordStart()).isEqualTo(Lsn.INVALID);
        p.recordIngested(Lsn.of(0x300), Lsn.of(0x2C0)); // same end: learns the start
        assertThat(p.snapshot().lastRecordStart()).isEqualTo(Lsn.of(0x2C0));

        p.diskConsistent(Lsn.of(0x200), Lsn.of(0x180));
        assertThat(p.snapshot().diskConsistentLsn()).isEqualTo(Lsn.of(0x200));
        assertThat(p.lastRecordLsn()).isEqualTo(Lsn.of(0x300));
        assertThatThrownBy(() -> p.diskConsistent(Lsn.of(0x1FF), Lsn.INVALID)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> p.recordIngested(Lsn.of(0x400), Lsn.of(0x400)))
                .isInstanceOf(IllegalArgumentException.class);
        // A flush above the last record raises it (dcl <= last), with the persisted start.
        p.diskConsistent(Lsn.of(0x500), Lsn.of(0x4C0));
        assertThat(p.snapshot()).isEqualTo(new IngestPosition.Snapshot(Lsn.of(0x500), Lsn.of(0x4C0), Lsn.of(0x500),
                Lsn.of(0x4C0)));
    }

    /**
     * One writer advances record after record (record n is [n*0x100 - 0x40, n*0x100)) and flushes
     * every 64th; readers check every snapshot is one moment: the prev belongs to the last record,
     * the disk-consistent pair to a record at or below it, and nothing goes back.
     */
    @Test
    void concurrentReadersAlwaysSeeOneConsistentMoment() throws Exception {
        IngestPosition p = new IngestPosition(Lsn.of(0x100), Lsn.of(0xC0));
        int records = 200_000;
        AtomicBoolean done = new AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        CountDownLatch started = new CountDownLatch(2);
        try {
            List<Future<Long>> readers = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                readers.add(pool.submit(() -> {
                    started.countDown();
                    long checks = 0;
                    IngestPosition.Snapshot before = p.snapshot();
                    while (!done.get() && checks < 50_000_000L) {
                        IngestPosition.Snapshot s = p.snapshot();
                        long last = s.lastRecordLsn().value();
                        assertThat(last % 0x100).as("last %s", s).isZero();
                        assertThat(s.prevRecordLsn().value()).as("prev of %s", s).isEqualTo(last - 0x40);
                        assertThat(s.diskConsistentLsn().value()).as("dcl of %s", s).isLessThanOrEqualTo(last);
                        assertThat(s.diskConsistentPrevRecordLsn().value()).as("dcl prev of %s", s)
                                .isEqualTo(s.diskConsistentLsn().value() - 0x40);
                        assertThat(s.lastRecordLsn()).isGreaterThanOrEqualTo(before.lastRecordLsn());
                        assertThat(s.diskConsistentLsn()).isGreaterThanOrEqualTo(before.diskConsistentLsn());
                        before = s;
                        checks++;
                    }
                    return checks;
                }));
            }
            assertThat(started.await(60, TimeUnit.SECONDS)).isTrue();
            for (long n = 2; n <= records; n++) {
                p.recordIngested(Lsn.of(n * 0x100), Lsn.of(n * 0x100 - 0x40));
                if (n % 64 == 0) {
                    long flushed = (n - 10) * 0x100;
                    p.diskConsistent(Lsn.of(flushed), Lsn.of(flushed - 0x40));
                }
            }
            done.set(true);
            for (Future<Long> r : readers) {
                assertThat(r.get(60, TimeUnit.SECONDS)).isPositive();
            }
            assertThat(p.lastRecordLsn()).isEqualTo(Lsn.of(records * 0x100L));
        } finally {
            done.set(true);
            pool.shutdownNow();
            assertThat(pool.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void waitersWakeOnAdvanceAndOnlyWhenTheirLsnIsReached() throws Exception {
        IngestPosition p = new IngestPosition(Lsn.of(0x100), Lsn.INVALID);
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            Future<Boolean> byRecord = pool.submit(() -> p.awaitLastRecord(Lsn.of(0x200), LONG, null));
            Future<Boolean> byWal = pool.submit(() -> p.awaitLastRecord(Lsn.of(0x300), LONG, null));
            Future<Boolean> byFlush = pool.submit(() -> p.awaitLastRecord(Lsn.of(0x400), LONG, null));
            p.recordIngested(Lsn.of(0x200), Lsn.of(0x1C0));
            assertThat(byRecord.get(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.lastRecordLsn()).isEqualTo(Lsn.of(0x200));
            assertThat(byWal.isDone()).as("0x300 is not reached yet").isFalse();
            p.walIngested(Lsn.of(0x300));
            assertThat(byWal.get(60, TimeUnit.SECONDS)).isTrue();
            p.diskConsistent(Lsn.of(0x400), Lsn.INVALID); // a flush above the last record raises it
            assertThat(byFlush.get(60, TimeUnit.SECONDS)).isTrue();
            // Already there: at once; never there within the timeout: false.
            assertThat(p.awaitLastRecord(Lsn.of(0x300), Duration.ZERO, null)).isTrue();
            assertThat(p.awaitLastRecord(Lsn.of(0x500), Duration.ofMillis(1), null)).isFalse();
        } finally {
            pool.shutdownNow();
            assertThat(pool.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void wakeWaitersMakesWaitersAskTheirAbortCondition() throws Exception {
        IngestPosition p = new IngestPosition(Lsn.of(0x100), Lsn.INVALID);
        AtomicBoolean stopped = new AtomicBoolean();
        CountDownLatch asked = new CountDownLatch(1);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<Boolean> waiter = pool.submit(() -> p.awaitLastRecord(Lsn.of(0x200), LONG, () -> {
                asked.countDown();
                return stopped.get() ? new IllegalStateException("ingest stopped") : null;
            }));
            assertThat(asked.await(60, TimeUnit.SECONDS)).isTrue();
            stopped.set(true);
            p.wakeWaiters();
            assertThatThrownBy(() -> waiter.get(60, TimeUnit.SECONDS)).hasCauseInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("ingest stopped");
            assertThat(p.lastRecordLsn()).isEqualTo(Lsn.of(0x100));
        } finally {
            pool.shutdownNow();
            assertThat(pool.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        }
    }
}
