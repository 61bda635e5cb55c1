package dev.strata.pageserver.timeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.datadir.BlockCount;
import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.AppendingRedoForTests;
import dev.strata.pageserver.layer.Value;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

import org.junit.jupiter.api.io.TempDir;

/** The relation-size cache behind {@link LayerStore#getValue} for size keys: every LSN sees its own size. */
class RelSizeCacheTest {

    private static final TimelineId TL = TimelineId.parse("cafe0000000000000000000000000002");
    private static final Key SIZE = Key.relationSize(1663, 5, 16384, 0);
    private static final Key OTHER_SIZE = Key.relationSize(1663, 5, 16385, 0);
    private static final Key PAGE = Key.relationBlock(1663, 5, 16384, 0, 0);
    private static final AppendingRedoForTests REDO = AppendingRedoForTests.INSTANCE;

    @TempDir
    Path dir;

    private LayerStore store() {
        return LayerStore.create(dir, TL, Lsn.of(0), StorageConfig.DEFAULTS);
    }

    private static void putSize(LayerStore store, Key key, long lsn, long blocks) {
        store.put(key, Lsn.of(lsn), new Value.Image(BlockCount.encode(blocks)));
    }

    private static long size(LayerStore store, Key key, long lsn) {
        return BlockCount.decode(store.getValue(key, Lsn.of(lsn), REDO));
    }

    @Test
    void aSizeChangedAtALaterLsnIsSeenAtThatLsnAndNotAtAnEarlierOne() {
        try (LayerStore store = store()) {
            putSize(store, SIZE, 0x10, 1);
            assertThat(size(store, SIZE, 0x10)).isEqualTo(1); // fills the cache
            assertThat(store.cachedRelationSizes()).isEqualTo(1);
            store.put(PAGE, Lsn.of(0x20), new Value.Image(new byte[] {1}));
            assertThat(size(store, SIZE, 0x20)).isEqualTo(1);
            putSize(store, SIZE, 0x30, 2);
            assertThat(size(store, SIZE, 0x0F)).isEqualTo(-1);
            assertThat(size(store, SIZE, 0x10)).isEqualTo(1);
            assertThat(size(store, SIZE, 0x2F)).isEqualTo(1);
            assertThat(size(store, SIZE, 0x30)).isEqualTo(2);
            store.position().walIngested(Lsn.of(0x40));
            assertThat(size(store, SIZE, 0x40)).isEqualTo(2);
            assertThat(size(store, SIZE, 0x2F)).isEqualTo(1); // older LSNs still search the layers
        }
    }

    @Test
    void truncationAndDropAreSeenFromTheirLsnOn() {
        try (LayerStore store = store()) {
            putSize(store, SIZE, 0x10, 5);
            putSize(store, OTHER_SIZE, 0x10, 3);
            assertThat(size(store, SIZE, 0x10)).isEqualTo(5);
            assertThat(size(store, OTHER_SIZE, 0x10)).isEqualTo(3);
            putSize(store, SIZE, 0x20, 2); // truncate
            putSize(store, OTHER_SIZE, 0x30, 0); // drop: ingest sets the size to 0
            assertThat(size(store, SIZE, 0x1F)).isEqualTo(5);
            assertThat(size(store, SIZE, 0x20)).isEqualTo(2);
            assertThat(size(store, OTHER_SIZE, 0x2F)).isEqualTo(3);
            assertThat(size(store, OTHER_SIZE, 0x30)).isEqualTo(0);
            // Flushing and compacting moves the versions into files; the answers do not change.
            store.freezeAndFlush();
            store.compact(REDO);
            assertThat(size(store, SIZE, 0x1F)).isEqualTo(5);
            assertThat(size(store, SIZE, 0x30)).isEqualTo(2);
            assertThat(size(store, OTHER_SIZE, 0x30)).isEqualTo(0);
        }
    }

    @Test
    void aFirstReadBelowTheNewestVersionGetsTheOlderSizeAndLaterReadsTheNewer() {
        try (LayerStore store = store()) {
            putSize(store, SIZE, 0x10, 1);
            putSize(store, SIZE, 0x30, 7);
            assertThat(size(store, SIZE, 0x20)).isEqualTo(1); // miss: cache filled with (0/30, 7)
            assertThat(size(store, SIZE, 0x30)).isEqualTo(7);
            assertThat(size(store, SIZE, 0x20)).isEqualTo(1);
        }
    }

    @Test
    void aForkWithoutASizeIsCachedAsMissingUntilIngestCreatesIt() {
        try (LayerStore store = store()) {
            store.put(PAGE, Lsn.of(0x10), new Value.Image(new byte[] {1}));
            assertThat(size(store, SIZE, 0x10)).isEqualTo(-1);
            putSize(store, SIZE, 0x20, 1);
            assertThat(size(store, SIZE, 0x10)).isEqualTo(-1);
            assertThat(size(store, SIZE, 0x20)).isEqualTo(1);
        }
    }

    @Test
    void aSizeStoredAsRecordsIsReconstructed() {
        try (LayerStore store = store()) {
            store.put(SIZE, Lsn.of(0x10), new Value.Image(new byte[] {'A'}));
            assertThat(store.getValue(SIZE, Lsn.of(0x10), REDO)).containsExactly('A');
            store.put(SIZE, Lsn.of(0x20), new Value.WalRecord(new byte[] {'b'}, false));
            assertThat(store.getValue(SIZE, Lsn.of(0x20), REDO)).containsExactly('A', 'b');
            assertThat(store.getValue(SIZE, Lsn.of(0x20), REDO)).containsExactly('A', 'b');
            assertThat(store.getValue(SIZE, Lsn.of(0x1F), REDO)).containsExactly('A');
        }
    }

    @Test
    void afterARestartSizesComeFromTheLayers() {
        try (LayerStore store = store()) {
            putSize(store, SIZE, 0x10, 4);
            assertThat(size(store, SIZE, 0x10)).isEqualTo(4);
            store.freezeAndFlush();
        }
        try (LayerStore store = LayerStore.open(dir, StorageConfig.DEFAULTS)) {
            assertThat(store.cachedRelationSizes()).isZero();
            assertThat(size(store, SIZE, 0x10)).isEqualTo(4);
            putSize(store, SIZE, 0x20, 9);
            assertThat(size(store, SIZE, 0x10)).isEqualTo(4);
            assertThat(size(store, SIZE, 0x20)).isEqualTo(9);
        }
    }

    /**
     * A reader racing ingest always sees, at the last record LSN it observed, the size of that LSN.
     * (It caught a fill that read the put counter and the last record LSN apart: a put counted but
     * not yet visible as the last record LSN let an older size replace the newer entry.)
     */
    @org.junit.jupiter.api.RepeatedTest(5)
    void readersRacingIngestNeverSeeAStaleOrFutureSize() throws Exception {
        try (LayerStore store = store()) {
            int records = 20_000;
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread reader = Thread.ofPlatform().start(() -> {
                try {
                    long seen = 0;
                    while (seen < records) {
                        long lsn = store.lastRecordLsn().value();
                        if (lsn == 0) {
                            continue;
                        }
                        // Record n (n >= 1) ends at 0x10 * n and sets the size to n.
                        long expected = lsn / 0x10;
                        long got = size(store, SIZE, lsn);
                        if (got != expected) {
                            throw new AssertionError("at " + Lsn.of(lsn) + " size " + got + ", expected " + expected);
                        }
                        long older = Math.max(1, expected / 2);
                        if (size(store, SIZE, older * 0x10) != older) {
                            throw new AssertionError("at " + Lsn.of(older * 0x10) + " not " + older);
                        }
                        seen = expected;
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            for (long n = 1; n <= records; n++) {
                putSize(store, SIZE, 0x10 * n, n);
                store.position().walIngested(Lsn.of(0x10 * n)); // as ingest reports a complete record
                if (n % 5000 == 0) {
                    store.freeze();
                    store.flush();
                }
            }
            reader.join(60_000);
            assertThat(failure.get()).isNull();
        }
    }

    /**
     * Hostile input: a client asking about relations that do not exist must not grow the cache
     * without bound (each miss was an entry that nothing ever removed). Past the bound misses are
     * still answered right, from the layers, and a relation created later is seen.
     */
    @Test
    void missesForManyDistinctMissingRelationsAreCachedOnlyUpToTheBound() {
        try (LayerStore store = store()) {
            putSize(store, SIZE, 0x10, 1);
            int asked = RelSizeCache.MAX_MISSES + 5_000;
            for (int rel = 0; rel < asked; rel++) {
                assertThat(size(store, Key.relationSize(1663, 5, 100_000 + rel, 0), 0x10)).isEqualTo(-1);
            }
            assertThat(store.cachedRelationSizeMisses()).isEqualTo(RelSizeCache.MAX_MISSES);
            assertThat(store.cachedRelationSizes()).isLessThanOrEqualTo(RelSizeCache.MAX_MISSES + 1);
            // A missing relation beyond the bound, then created by ingest: seen from its LSN on.
            Key late = Key.relationSize(1663, 5, 100_000 + asked - 1, 0);
            putSize(store, late, 0x20, 7);
            assertThat(size(store, late, 0x1F)).isEqualTo(-1);
            assertThat(size(store, late, 0x20)).isEqualTo(7);
            // One that was cached as a miss, created later: the put replaces the miss entry.
            Key early = Key.relationSize(1663, 5, 100_000, 0);
            putSize(store, early, 0x30, 3);
            assertThat(store.cachedRelationSizeMisses()).isEqualTo(RelSizeCache.MAX_MISSES - 1);
            assertThat(size(store, early, 0x30)).isEqualTo(3);
            assertThat(size(store, SIZE, 0x30)).isEqualTo(1);
        }
    }
}
