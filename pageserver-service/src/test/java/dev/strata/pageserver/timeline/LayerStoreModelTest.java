package dev.strata.pageserver.timeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.SlruKind;
import dev.strata.pageserver.layer.AppendingRedoForTests;
import dev.strata.pageserver.layer.Value;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Random puts, freezes, flushes, image and L0 compactions and restarts against {@link ReferenceModel}:
 * every value at every sampled LSN must match, before and after reopening from disk.
 */
class LayerStoreModelTest {

    private static final TimelineId TL = TimelineId.parse("aa00000000000000000000000000bb01");
    private static final int STEPS = 1500;
    private static final AppendingRedoForTests REDO = AppendingRedoForTests.INSTANCE;

    @TempDir
    Path dir;

    private static List<Key> keys() {
        List<Key> keys = new ArrayList<>();
        for (int b = 0; b < 30; b++) {
            keys.add(Key.relationBlock(1663, 5, 16384, 0, b));
            keys.add(Key.relationBlock(1663, 5, 16390, 1, b * 1000));
        }
        keys.add(Key.relationSize(1663, 5, 16384, 0));
        keys.add(Key.relationSize(1663, 5, 16390, 1));
        keys.add(Key.relmapperFile(1664, 0));
        keys.add(Key.relationDirectory(1663, 5));
        for (int p = 0; p < 4; p++) {
            keys.add(Key.slruPage(SlruKind.CLOG, 0, p));
        }
        keys.add(Key.twoPhaseFile(777));
        keys.add(Key.databaseDirectory());
        keys.add(Key.checkpoint());
        return keys;
    }

    @ParameterizedTest
    @ValueSource(longs = {1L, 2L, 3L})
    void everyValueMatchesTheReferenceModelAcrossFlushCompactionAndRestart(long seed) {
        Random r = new Random(seed);
        StorageConfig config = StorageConfig.DEFAULTS.withCheckpointDistanceBytes(3000).withImageLayerKeys(16)
                .withCompactionThreshold(3).withCompactionTargetBytes(1500);
        List<Key> keys = keys();
        ReferenceModel model = new ReferenceModel();
        LayerStore store = LayerStore.create(dir, TL, Lsn.of(0x100), config);
        long lsn = 0x100;
        int restarts = 0;
        int images = 0;
        int l1 = 0;
        for (int step = 0; step < STEPS; step++) {
            lsn += 1 + r.nextInt(64);
            Set<Key> touched = new HashSet<>();
            int n = 1 + r.nextInt(3);
            for (int i = 0; i < n; i++) {
                Key key = keys.get(r.nextInt(keys.size()));
                if (touched.add(key)) {
                    Value v = randomValue(r, model.hasKey(key), step);
                    store.put(key, Lsn.of(lsn), v);
                    model.put(key, lsn, v);
                }
            }
            int action = r.nextInt(100);
            if (action < 4) {
                store.freeze();
            } else if (action < 8) {
                store.freezeAndFlush();
            } else if (action < 11) {
                store.freezeAndFlush();
                images += store.compact(REDO).size();
            } else if (action < 13) {
                store.freezeAndFlush();
                l1 += store.compactLevel0().size();
            } else if (action < 15) {
                store.close();
                store = LayerStore.open(dir, config);
                restarts++;
                long dcl = store.diskConsistentLsn().value();
                assertThat(dcl).isLessThanOrEqualTo(lsn);
                for (ReferenceModel.Put p : model.putsAfter(dcl)) {
                    store.put(p.key(), Lsn.of(p.lsn()), p.value());
                }
            }
            if (step % 50 == 0) {
                for (Key key : keys) {
                    check(store, model, key, lsn);
                    check(store, model, key, 0x100 + (long) r.nextInt((int) (lsn - 0x100 + 1)));
                }
            }
        }
        store.freezeAndFlush();
        images += store.compact(REDO).size();
        store.close();
        store = LayerStore.open(dir, config);
        assertThat(store.diskConsistentLsn()).isEqualTo(Lsn.of(lsn));
        for (Key key : keys) {
            for (long at = 0x100; at <= lsn; at += 1 + r.nextInt(40)) {
                check(store, model, key, at);
            }
            check(store, model, key, lsn);
        }
        assertThat(restarts).as("restarts exercised").isPositive();
        assertThat(images).as("image layers created").isPositive();
        assertThat(l1).as("L1 layers written by L0 compaction").isPositive();
        assertThat(store.layerMap().images()).isNotEmpty();
        store.close();
    }

    private static Value randomValue(Random r, boolean keyExists, int step) {
        byte[] payload = new byte[1 + r.nextInt(12)];
        r.nextBytes(payload);
        payload[0] = (byte) step;
        int kind = r.nextInt(100);
        if (!keyExists || kind < 15) {
            return kind % 2 == 0 || !keyExists && kind < 50 ? new Value.Image(payload) : new Value.WalRecord(payload, true);
        }
        return kind < 22 ? new Value.WalRecord(payload, true) : new Value.WalRecord(payload, false);
    }

    private static void check(LayerStore store, ReferenceModel model, Key key, long at) {
        assertThat(store.getValue(key, Lsn.of(at), REDO))
                .as("%s at %s", key.describe(), Lsn.of(at))
                .isEqualTo(model.get(key, at));
    }
}
