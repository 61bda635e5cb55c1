package dev.strata.pageserver.timeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.KeyRange;
import dev.strata.pageserver.layer.AppendingRedoForTests;
import dev.strata.pageserver.layer.LayerName;
import dev.strata.pageserver.layer.Value;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GC on a layer store with synthetic values (no PostgreSQL): the images it writes at the cutoff,
 * what it removes with and without a retained LSN below the cutoff, and that every value at the
 * retained points and at or above the cutoff reads back the same, also after a restart.
 */
class GcPlannerTest {

    private static final TimelineId TL = TimelineId.parse("cafe0000000000000000000000000025");
    private static final AppendingRedoForTests REDO = AppendingRedoForTests.INSTANCE;
    private static final int KEYS = 20;
    private static final int LAYERS = 6;

    @TempDir
    Path dir;

    private static Key key(int i) {
        return Key.relationBlock(1663, 5, 16384, 0, i);
    }

    /** Delta layer n (1..6) holds a record for every key at LSN 0x100*n; layer 1 starts each key with an image. */
    private LayerStore build() {
        LayerStore store = LayerStore.create(dir, TL, Lsn.of(0), StorageConfig.DEFAULTS.withImageCreationThreshold(3));
        for (int n = 1; n <= LAYERS; n++) {
            for (int k = 0; k < KEYS; k++) {
                Value v = n == 1 ? new Value.Image(("k" + k).getBytes()) : new Value.WalRecord(("+" + n).getBytes(), false);
                store.put(key(k), Lsn.of(0x100L * n), v);
            }
            store.freezeAndFlush();
        }
        assertThat(store.layerMap().deltas()).hasSize(LAYERS);
        return store;
    }

    private static Map<String, byte[]> values(LayerStore s, long... lsns) {
        Map<String, byte[]> out = new HashMap<>();
        for (long l : lsns) {
            for (int k = 0; k < KEYS; k++) {
                out.put(k + "@" + l, s.getValue(key(k), Lsn.of(l), REDO));
            }
        }
        return out;
    }

    private static void assertValues(LayerStore s, Map<String, byte[]> expected, long... lsns) {
        Map<String, byte[]> now = values(s, lsns);
        assertThat(now.keySet()).isEqualTo(expected.keySet());
        expected.forEach((k, v) -> assertThat(Arrays.equals(now.get(k), v)).as(k).isTrue());
    }

    @Test
    void gcWritesImagesAtTheCutoffAndRemovesTheDeltasBelowThem() {
        long[] points = {0x450, 0x500, 0x600};
        Map<String, byte[]> before;
        List<LayerName> removed;
        try (LayerStore s = build()) {
            before = values(s, points);
            assertThat(new String(s.getValue(key(3), Lsn.of(0x600), REDO))).isEqualTo("k3+2+3+4+5+6");
            long bytes = s.layerBytes();
            LayerStore.GcOutcome o = s.gc(Lsn.of(0x450), List.of(), REDO);
            assertThat(o.imagesCreated()).hasSize(1);
            assertThat(o.imagesCreated().get(0).lsnRange().start()).isEqualTo(Lsn.of(0x450));
            // Deltas 1-4 end below the cutoff and the image at 0x450 covers every key; 5 and 6 stay.
            assertThat(o.removed()).hasSize(4).allMatch(n -> !n.image() && n.lsnRange().last().isBefore(Lsn.of(0x450)));
            assertThat(s.layerMap().deltas()).hasSize(2);
            assertThat(s.layerBytes()).isEqualTo(bytes - o.bytesRemoved() + imageBytes(s));
            for (LayerName n : o.removed()) {
                assertThat(dir.resolve(n.toString())).doesNotExist();
            }
            assertValues(s, before, points);
            // A second pass at the same cutoff finds nothing more to do.
            LayerStore.GcOutcome again = s.gc(Lsn.of(0x450), List.of(), REDO);
            assertThat(again.imagesCreated()).isEmpty();
            assertThat(again.removed()).isEmpty();
            removed = o.removed();
        }
        try (LayerStore s = LayerStore.open(dir, StorageConfig.DEFAULTS)) {
            assertThat(s.layerMap().persistentNames()).doesNotContainAnyElementsOf(removed);
            assertValues(s, before, points);
        }
    }

    @Test
    void aRetainedLsnBelowTheCutoffKeepsTheLayersItReads() {
        try (LayerStore s = build()) {
            Map<String, byte[]> atRetained = values(s, 0x250);
            Map<String, byte[]> above = values(s, 0x450, 0x600);
            LayerStore.GcOutcome o = s.gc(Lsn.of(0x450), List.of(Lsn.of(0x250)), REDO);
            // Deltas 1-3 start at or below 0x250 and no image lies between their end and 0x250; delta 4
            // starts above it, so only the cutoff's reads matter for it.
            assertThat(o.removed()).hasSize(1);
            assertThat(o.removed().get(0).lsnRange().start()).isEqualTo(Lsn.of(0x301));
            assertValues(s, atRetained, 0x250);
            assertValues(s, above, 0x450, 0x600);
        }
    }

    @Test
    void aBranchStoreWritesNoImagesAndRemovesNothingWithoutThem() {
        try (LayerStore parent = build()) {
            LayerStore child = LayerStore.create(dir.resolve("child"), TimelineId.parse("cafe0000000000000000000000000026"),
                    Lsn.of(0x300), StorageConfig.DEFAULTS.withImageCreationThreshold(1));
            child.ancestor(new LayerStore.Ancestor(parent, Lsn.of(0x300)));
            for (int n = 4; n <= 6; n++) {
                child.put(key(0), Lsn.of(0x100L * n + 8), new Value.WalRecord(("c" + n).getBytes(), false));
                child.freezeAndFlush();
            }
            LayerStore.GcOutcome o = child.gc(Lsn.of(0x600), List.of(), REDO);
            assertThat(o.imagesCreated()).isEmpty();
            assertThat(o.removed()).isEmpty();
            assertThat(new String(child.getValue(key(0), Lsn.of(0x700), REDO))).isEqualTo("k0+2+3c4c5c6");
            assertThat(new String(child.getValue(key(1), Lsn.of(0x700), REDO))).isEqualTo("k1+2+3");
            child.close();
        }
    }

    @Test
    void coverageNeedsTheWholeRangeWithoutGaps() {
        KeyRange target = new KeyRange(key(0), key(10));
        assertThat(GcPlanner.covers(List.of(KeyRange.ALL), target)).isTrue();
        assertThat(GcPlanner.covers(List.of(new KeyRange(key(5), key(10)), new KeyRange(key(0), key(5))), target)).isTrue();
        assertThat(GcPlanner.covers(List.of(new KeyRange(key(0), key(4)), new KeyRange(key(5), key(10))), target)).isFalse();
        assertThat(GcPlanner.covers(List.of(new KeyRange(key(0), key(9))), target)).isFalse();
        assertThat(GcPlanner.covers(List.of(), target)).isFalse();
    }

    private static long imageBytes(LayerStore s) {
        long b = 0;
        for (var i : s.layerMap().images()) {
            b += i.handle().sizeBytes();
        }
        return b;
    }
}
