package dev.strata.pageserver.timeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.KeyRange;
import dev.strata.pageserver.layer.AppendingRedoForTests;
import dev.strata.pageserver.layer.DeltaLayerWriter;
import dev.strata.pageserver.layer.LayerName;
import dev.strata.pageserver.layer.LsnRange;
import dev.strata.pageserver.layer.Value;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LayerStoreRestartTest {

    private static final TimelineId TL = TimelineId.parse("cafe0000000000000000000000000001");
    private static final Key PAGE = Key.relationBlock(1663, 5, 16384, 0, 0);
    private static final Key SIZE = Key.relationSize(1663, 5, 16384, 0);
    private static final AppendingRedoForTests REDO = AppendingRedoForTests.INSTANCE;

    @TempDir
    Path dir;

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static String s(byte[] v) {
        return v == null ? null : new String(v, StandardCharsets.US_ASCII);
    }

    /** Page "P" at 0/10, "+1" at 0/20, size 1 at 0/20, flushed; then "+2" and size 2 at 0/30, not flushed. */
    private LayerStore storeWithUnflushedTail() {
        LayerStore store = LayerStore.create(dir, TL, Lsn.of(0), StorageConfig.DEFAULTS);
        store.put(PAGE, Lsn.of(0x10), new Value.Image(b("P")));
        store.put(PAGE, Lsn.of(0x20), new Value.WalRecord(b("+1"), false));
        store.put(SIZE, Lsn.of(0x20), new Value.Image(b("1")));
        assertThat(store.freezeAndFlush()).isEqualTo(Lsn.of(0x20));
        store.put(PAGE, Lsn.of(0x30), new Value.WalRecord(b("+2"), false));
        store.put(SIZE, Lsn.of(0x30), new Value.Image(b("2")));
        assertThat(s(store.getValue(PAGE, Lsn.of(0x30), REDO))).isEqualTo("P+1+2");
        return store;
    }

    @Test
    void restartKeepsFlushedDataAndClaimsNothingBeyondDiskConsistentLsn() {
        storeWithUnflushedTail().close();
        try (LayerStore store = LayerStore.open(dir, StorageConfig.DEFAULTS)) {
            assertThat(store.timelineId()).isEqualTo(TL);
            assertThat(store.diskConsistentLsn()).isEqualTo(Lsn.of(0x20));
            assertThat(store.lastRecordLsn()).isEqualTo(Lsn.of(0x20));
            assertThat(s(store.getValue(PAGE, Lsn.of(0x1F), REDO))).isEqualTo("P");
            assertThat(s(store.getValue(PAGE, Lsn.of(0x30), REDO))).isEqualTo("P+1");
            assertThat(s(store.getValue(SIZE, Lsn.of(0x30), REDO))).isEqualTo("1");
            assertThat(store.getValue(SIZE, Lsn.of(0x1F), REDO)).isNull();
            // Re-ingest from the disk-consistent LSN: the lost tail comes back.
            assertThatThrownBy(() -> store.put(PAGE, Lsn.of(0x20), new Value.Image(b("X"))))
                    .hasMessageContaining("not after");
            store.put(PAGE, Lsn.of(0x30), new Value.WalRecord(b("+2"), false));
            store.put(SIZE, Lsn.of(0x30), new Value.Image(b("2")));
            assertThat(s(store.getValue(PAGE, Lsn.of(0x30), REDO))).isEqualTo("P+1+2");
            assertThat(store.freezeAndFlush()).isEqualTo(Lsn.of(0x30));
        }
        try (LayerStore store = LayerStore.open(dir, StorageConfig.DEFAULTS)) {
            assertThat(s(store.getValue(SIZE, Lsn.of(0x30), REDO))).isEqualTo("2");
        }
    }

    @Test
    void leftoverTempFilesAndUncommittedLayersAreRemovedAtOpen() throws IOException {
        storeWithUnflushedTail().close();
        Path temp = dir.resolve(LayerName.delta(KeyRange.ALL, new LsnRange(Lsn.of(0x21), Lsn.of(0x31))) + ".strata-tmp");
        Files.write(temp, b("half a layer"));
        Path metadataTemp = dir.resolve("metadata.strata-tmp");
        Files.write(metadataTemp, b("half metadata"));
        // A flush that made its layer durable but crashed before the metadata update.
        Path uncommitted;
        try (DeltaLayerWriter w = new DeltaLayerWriter(dir, TL, KeyRange.ALL, new LsnRange(Lsn.of(0x21), Lsn.of(0x31)))) {
            w.add(PAGE, Lsn.of(0x30), new Value.Image(b("BEYOND")));
            try (var layer = w.finish()) {
                uncommitted = layer.path();
            }
        }
        Path unknown = dir.resolve("notes.txt");
        Files.write(unknown, b("kept"));
        try (LayerStore store = LayerStore.open(dir, StorageConfig.DEFAULTS)) {
            assertThat(temp).doesNotExist();
            assertThat(metadataTemp).doesNotExist();
            assertThat(uncommitted).doesNotExist();
            assertThat(unknown).exists();
            assertThat(store.diskConsistentLsn()).isEqualTo(Lsn.of(0x20));
            assertThat(s(store.getValue(PAGE, Lsn.of(0x30), REDO))).isEqualTo("P+1");
        }
    }

    @Test
    void missingListedLayerCorruptMetadataAndAbsentTimelineAreRefused() throws IOException {
        LayerStore first = storeWithUnflushedTail();
        Path layer = first.layerMap().deltas().get(0).path();
        first.close();
        byte[] metadata = Files.readAllBytes(dir.resolve(TimelineMetadataFile.FILE_NAME));

        Path moved = dir.resolveSibling("moved-away");
        Files.move(layer, moved);
        assertThatThrownBy(() -> LayerStore.open(dir, StorageConfig.DEFAULTS))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("metadata lists layer " + layer.getFileName())
                .hasMessageContaining("missing")
                .satisfies(e -> assertThat(((StorageException) e).category()).isEqualTo(StorageException.Category.MISSING));
        Files.move(moved, layer);

        byte[] flipped = metadata.clone();
        flipped[30] ^= 1;
        Files.write(dir.resolve(TimelineMetadataFile.FILE_NAME), flipped);
        assertThatThrownBy(() -> LayerStore.open(dir, StorageConfig.DEFAULTS))
                .hasMessageContaining("timeline metadata " + dir.resolve("metadata"))
                .hasMessageContaining("checksum mismatch");

        Files.write(dir.resolve(TimelineMetadataFile.FILE_NAME), java.util.Arrays.copyOf(metadata, 20));
        assertThatThrownBy(() -> LayerStore.open(dir, StorageConfig.DEFAULTS)).hasMessageContaining("truncated");

        byte[] foreign = metadata.clone();
        foreign[0] = 'Z';
        Files.write(dir.resolve(TimelineMetadataFile.FILE_NAME), foreign);
        assertThatThrownBy(() -> LayerStore.open(dir, StorageConfig.DEFAULTS)).hasMessageContaining("magic");

        Files.write(dir.resolve(TimelineMetadataFile.FILE_NAME), metadata);
        assertThatThrownBy(() -> LayerStore.create(dir, TL, Lsn.of(0), StorageConfig.DEFAULTS))
                .hasMessageContaining("already holds a timeline");
        LayerStore.open(dir, StorageConfig.DEFAULTS).close();

        assertThatThrownBy(() -> LayerStore.open(dir.resolve("nope"), StorageConfig.DEFAULTS))
                .hasMessageContaining("does not exist");
    }

    @Test
    void openLayerFreezesAtTheSizeLimitOnlyBetweenRecords() {
        StorageConfig small = StorageConfig.DEFAULTS.withCheckpointDistanceBytes(1);
        try (LayerStore store = LayerStore.create(dir, TL, Lsn.of(0), small)) {
            store.put(PAGE, Lsn.of(0x10), new Value.Image(b("P")));
            store.put(SIZE, Lsn.of(0x10), new Value.Image(b("1")));
            assertThat(store.layerMap().frozen()).isEmpty();
            store.put(PAGE, Lsn.of(0x18), new Value.WalRecord(b("+"), false));
            assertThat(store.layerMap().frozen()).hasSize(1);
            assertThat(store.layerMap().frozen().get(0).lsnRange()).isEqualTo(new LsnRange(Lsn.of(1), Lsn.of(0x11)));
            assertThat(store.flush()).isEqualTo(Lsn.of(0x10));
            assertThat(store.layerMap().deltas()).hasSize(1);
            store.position().walIngested(Lsn.of(0x40));
            assertThat(store.freezeAndFlush()).isEqualTo(Lsn.of(0x40));
            assertThat(s(store.getValue(PAGE, Lsn.of(0x40), REDO))).isEqualTo("P+");
        }
    }
}
