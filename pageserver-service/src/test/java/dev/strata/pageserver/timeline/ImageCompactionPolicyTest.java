package dev.strata.pageserver.timeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.AppendingRedoForTests;
import dev.strata.pageserver.layer.ImageLayer;
import dev.strata.pageserver.layer.Value;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which key ranges a compaction pass rewrites as image layers ({@link ImageCompactor}): only
 * those where enough delta layers hold versions of their keys above the images that cover
 * them. Every delta layer spans all keys, and the ranges are cut afresh from the key set at
 * each pass; before this rule every pass rewrote every range.
 */
class ImageCompactionPolicyTest {

    private static final TimelineId TL = TimelineId.parse("aa00000000000000000000000000bb02");
    private static final AppendingRedoForTests REDO = AppendingRedoForTests.INSTANCE;
    /** Ten keys per image layer, an image once three deltas stack above the coverage. */
    private static final StorageConfig CONFIG = StorageConfig.DEFAULTS.withImageLayerKeys(10).withImageCreationThreshold(3);

    @TempDir
    Path dir;

    private long lsn = 0x100;

    @Test
    void onlyRangesWithNewVersionsAreRewritten() {
        LayerStore store = LayerStore.create(dir, TL, Lsn.of(0x100), CONFIG);
        try {
            for (int round = 0; round < 3; round++) { // three deltas over all 40 blocks
                for (int b = 0; b < 40; b++) {
                    put(store, block(16384, b), round);
                }
                store.freezeAndFlush();
            }
            List<ImageLayer> first = store.compact(REDO);
            assertThat(first).as("every range has three deltas above no image").hasSize(4);

            // A new relation that sorts before all others (shifting every range boundary of the
            // next pass) written once, and block 35 written in three deltas.
            for (int round = 0; round < 3; round++) {
                if (round == 0) {
                    for (int b = 0; b < 5; b++) {
                        put(store, block(100, b), round);
                    }
                }
                put(store, block(16384, 35), round);
                store.freezeAndFlush();
            }
            List<ImageLayer> second = store.compact(REDO);
            assertThat(second).as("only block 35's range has three deltas above its images").hasSize(1);
            assertThat(second.getFirst().keyRange().contains(block(16384, 35))).isTrue();
            assertThat(second.getFirst().keyRange().contains(block(16384, 5))).isFalse();

            assertThat(store.compact(REDO)).as("nothing new since").isEmpty();
            // Every key still reads its newest version through the images and deltas.
            for (int b = 0; b < 40; b++) {
                assertThat(store.getValue(block(16384, b), Lsn.of(lsn), REDO)).isNotNull();
            }
            assertThat(store.getValue(block(100, 4), Lsn.of(lsn), REDO)).isNotNull();
        } finally {
            store.close();
        }
    }

    @Test
    void aRangeUnderManyDeltasGetsAnImageAnyway() {
        LayerStore store = LayerStore.create(dir, TL, Lsn.of(0x100), CONFIG);
        try {
            for (int round = 0; round < 3; round++) {
                for (int b = 0; b < 40; b++) {
                    put(store, block(16384, b), round);
                }
                store.freezeAndFlush();
            }
            assertThat(store.compact(REDO)).hasSize(4);
            int bound = CONFIG.imageCreationThreshold() * ImageCompactor.DELTAS_READ_THROUGH_FACTOR;
            for (int i = 0; i < bound - 1; i++) { // deltas that hold only block 35
                put(store, block(16384, 35), i);
                store.freezeAndFlush();
                List<ImageLayer> made = store.compact(REDO);
                assertThat(made).allMatch(image -> image.keyRange().contains(block(16384, 35)));
            }
            put(store, block(16384, 35), bound);
            store.freezeAndFlush();
            assertThat(store.compact(REDO)).as("%d deltas above the other ranges' images", bound).hasSize(4);
        } finally {
            store.close();
        }
    }

    @Test
    void gcAtACutoffStillCoversEveryRangeWithDeltasAboveIt() {
        LayerStore store = LayerStore.create(dir, TL, Lsn.of(0x100), CONFIG);
        try {
            for (int b = 0; b < 40; b++) {
                put(store, block(16384, b), 0);
            }
            store.freezeAndFlush();
            for (int round = 1; round < 3; round++) { // two deltas that touch one key
                put(store, block(16384, 35), round);
                store.freezeAndFlush();
            }
            Lsn cutoff = store.diskConsistentLsn();
            LayerStore.GcOutcome gc = store.gc(cutoff, List.of(), REDO);
            assertThat(gc.imagesCreated()).as("at the cutoff, a delta spanning all keys counts for every range")
                    .hasSize(4);
            assertThat(gc.removed()).as("the two deltas wholly below the cutoff are covered and go").hasSize(2);
        } finally {
            store.close();
        }
    }

    private void put(LayerStore store, Key key, int round) {
        lsn += 8;
        store.put(key, Lsn.of(lsn), new Value.Image(new byte[] {(byte) round, (byte) key.hashCode()}));
    }

    private static Key block(int rel, int blk) {
        return Key.relationBlock(1663, 5, rel, 0, blk);
    }
}
