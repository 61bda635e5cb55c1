package dev.strata.pageserver.timeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.AppendingRedoForTests;
import dev.strata.pageserver.layer.Value;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LayerStoreConcurrencyTest {

    private static final int KEYS = 50;
    private static final int STEPS = 60_000;

    @TempDir
    Path dir;

    /** Key k gets a 1-byte value at every LSN s with s % KEYS == k, so its length at L is a formula. */
    private static int expectedLength(int k, long lsn) {
        return lsn < k + 1 ? 0 : (int) ((lsn - 1 - k) / KEYS) + 1;
    }

    private static Key key(int k) {
        return Key.relationBlock(1663, 5, 16384, 0, k);
    }

    @Test
    void readersSeeConsistentValuesWhileOneWriterPutsFreezesAndFlushes() throws Exception {
        LayerStore store = LayerStore.create(dir, TimelineId.random(), Lsn.of(0),
                StorageConfig.DEFAULTS.withCheckpointDistanceBytes(64 * 1024));
        AtomicBoolean done = new AtomicBoolean();
        CountDownLatch started = new CountDownLatch(2);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<CompletableFuture<Long>> readers = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            long seed = t;
            readers.add(CompletableFuture.supplyAsync(() -> {
                started.countDown();
                Random r = new Random(seed);
                long checks = 0;
                while (!done.get() && checks < 5_000_000) {
                    long lsn = store.lastRecordLsn().value();
                    int k = r.nextInt(KEYS);
                    byte[] v = store.getValue(key(k), Lsn.of(lsn), AppendingRedoForTests.INSTANCE);
                    int length = v == null ? 0 : v.length;
                    assertThat(length).as("key %d at %d", k, lsn).isEqualTo(expectedLength(k, lsn));
                    checks++;
                }
                return checks;
            }, pool));
        }
        assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
        for (int s = 1; s <= STEPS; s++) {
            int k = (s - 1) % KEYS;
            Value v = s <= KEYS ? new Value.Image(new byte[] {1}) : new Value.WalRecord(new byte[] {2}, false);
            store.put(key(k), Lsn.of(s), v);
            store.position().walIngested(Lsn.of(s)); // the record is complete: readers may read at it
            if (s % 5000 == 0) {
                store.freezeAndFlush();
            }
        }
        done.set(true);
        for (CompletableFuture<Long> reader : readers) {
            assertThat(reader.get(60, TimeUnit.SECONDS)).isPositive();
        }
        pool.shutdown();
        assertThat(store.layerMap().deltas()).hasSizeGreaterThan(8);
        store.close();
    }
}
