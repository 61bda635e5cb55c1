package dev.strata.pageserver.layer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.KeyRange;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LayerFileTest {

    private static final TimelineId TL = TimelineId.parse("11223344556677889900aabbccddeeff");
    private static final LsnRange LSNS = new LsnRange(Lsn.of(0x100), Lsn.of(0x1000));

    @TempDir
    Path dir;

    private static Key block(int n) {
        return Key.relationBlock(1663, 5, 16384, 0, n);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    /** 250 keys (three index blocks), each with an image at 0x100 and records at 0x200 and 0x300. */
    private DeltaLayer writeDelta() {
        try (DeltaLayerWriter w = new DeltaLayerWriter(dir, TL, KeyRange.ALL, LSNS)) {
            for (int k = 0; k < 250; k++) {
                w.add(block(k), Lsn.of(0x100), new Value.Image(bytes("img" + k)));
                w.add(block(k), Lsn.of(0x200), new Value.WalRecord(bytes("+a"), false));
                w.add(block(k), Lsn.of(0x300), new Value.WalRecord(bytes("+b"), false));
            }
            return w.finish();
        }
    }

    private static String reconstruct(Layer layer, Key key, long lsn) {
        ReconstructState s = new ReconstructState();
        layer.collect(key, 0, lsn + 1, s);
        if (s.isEmpty()) {
            return null;
        }
        byte[] v = s.hasRecords() ? AppendingRedoForTests.INSTANCE.apply(key, s.base(), s.recordsOldestFirst()) : s.base();
        return new String(v, java.nio.charset.StandardCharsets.US_ASCII);
    }

    @Test
    void deltaLayerFindsEveryVersionByKeyAndLsn() {
        try (DeltaLayer d = writeDelta()) {
            assertThat(d.entryCount()).isEqualTo(750);
            assertThat(d.path().getFileName().toString()).isEqualTo(LayerName.delta(KeyRange.ALL, LSNS).toString());
            for (int k = 0; k < 250; k += 7) {
                assertThat(reconstruct(d, block(k), 0x100)).isEqualTo("img" + k);
                assertThat(reconstruct(d, block(k), 0x2FF)).isEqualTo("img" + k + "+a");
                assertThat(reconstruct(d, block(k), 0x300)).isEqualTo("img" + k + "+a+b");
            }
            assertThat(reconstruct(d, block(250), 0x300)).isNull();
            assertThat(reconstruct(d, block(3), 0xFF)).isNull();
            List<Key> keys = new ArrayList<>();
            d.forEachKey(keys::add);
            assertThat(keys).hasSize(250).isSorted();
        }
    }

    @Test
    void keyWalkSeesTheEntriesOfAKeyAndLsnRangeAndReadsValuesOnlyWhenAsked() {
        // Blocks 10..199 of the fork (from the middle of the first index block to the middle of
        // the last), entries with LSN in [0x200, 0x300): one per key, the 0x200 record.
        KeyRange keys = new KeyRange(block(10), block(200));
        InMemoryLayer memory = new InMemoryLayer(Lsn.of(0x100));
        for (int k = 0; k < 250; k++) { // the same entries as writeDelta(), put in LSN order
            memory.put(block(k), Lsn.of(0x100), new Value.Image(bytes("img" + k)));
        }
        for (int k = 0; k < 250; k++) {
            memory.put(block(k), Lsn.of(0x200), new Value.WalRecord(bytes("+a"), false));
        }
        for (int k = 0; k < 250; k++) {
            memory.put(block(k), Lsn.of(0x300), new Value.WalRecord(bytes("+b"), false));
        }
        try (DeltaLayer d = writeDelta()) {
            for (Layer layer : List.<Layer>of(d, memory)) {
                List<String> seen = new ArrayList<>();
                KeyLsnVisitor v = (key, lsn, value) -> seen.add(key.field6() + "@" + Long.toHexString(lsn)
                        + (key.field6() % 50 == 0 ? "=" + new String(((Value.WalRecord) value.get()).payload(),
                        java.nio.charset.StandardCharsets.US_ASCII) : ""));
                if (layer instanceof DeltaLayer delta) {
                    delta.walkKeys(keys, 0x200, 0x300, v);
                } else {
                    memory.walkKeys(keys, 0x200, 0x300, v);
                }
                assertThat(seen).as("%s", layer).hasSize(190).startsWith("10@200").endsWith("199@200")
                        .contains("50@200=+a", "150@200=+a").doesNotContain("200@200");
            }
            // Nothing of a layer outside the LSN or key range is read.
            List<Key> none = new ArrayList<>();
            d.walkKeys(keys, 0x1000, 0x2000, (key, lsn, value) -> none.add(key));
            d.walkKeys(new KeyRange(block(300), block(400)), 0, 0x2000, (key, lsn, value) -> none.add(key));
            d.walkKeys(KeyRange.RELATIONS, 0x50, 0x100, (key, lsn, value) -> none.add(key));
            memory.walkKeys(keys, 0x50, 0x100, (key, lsn, value) -> none.add(key));
            assertThat(none).isEmpty();
            List<Long> all = new ArrayList<>();
            d.walkKeys(KeyRange.RELATIONS, 0, -1L, (key, lsn, value) -> all.add(lsn));
            assertThat(all).hasSize(750);
        }
    }

    @Test
    void imageLayerIsCompleteForItsRange() {
        try (ImageLayerWriter w = new ImageLayerWriter(dir, TL, KeyRange.relationBlocks(1663, 5, 16384, 0), Lsn.of(0x500))) {
            w.add(block(1), bytes("one"));
            w.add(block(3), bytes("three"));
            try (ImageLayer img = w.finish()) {
                assertThat(reconstruct(img, block(3), 0x500)).isEqualTo("three");
                ReconstructState s = new ReconstructState();
                assertThat(img.collect(block(2), 0, 0x501, s)).isTrue();
                assertThat(s.isEmpty()).isTrue();
            }
        }
    }

    @Test
    void writerRefusesOutOfOrderAndOutOfRangeEntriesAndLeavesNoFile() throws IOException {
        try (DeltaLayerWriter w = new DeltaLayerWriter(dir, TL, KeyRange.ALL, LSNS)) {
            w.add(block(2), Lsn.of(0x200), new Value.Image(bytes("x")));
            assertThatThrownBy(() -> w.add(block(1), Lsn.of(0x200), new Value.Image(bytes("x"))))
                    .hasMessageContaining("out of order");
            assertThatThrownBy(() -> w.add(block(3), Lsn.of(0x1000), new Value.Image(bytes("x"))))
                    .hasMessageContaining("outside");
        }
        try (var files = Files.list(dir)) {
            assertThat(files.toList()).isEmpty();
        }
    }

    @Test
    void flippedValueByteFailsTheReadNamingFileAndOffset() throws IOException {
        Path path;
        try (DeltaLayer d = writeDelta()) {
            path = d.path();
        }
        flip(path, 128 + 6); // inside the first value's payload
        try (DeltaLayer d = DeltaLayer.open(path, TL)) {
            assertThatThrownBy(() -> reconstruct(d, block(0), 0x100))
                    .isInstanceOf(CorruptLayerException.class)
                    .hasMessageContaining(path.toString())
                    .hasMessageContaining("at offset 128")
                    .hasMessageContaining("value checksum mismatch for key rel 1663/5/16384.0 blk 0 at 0/100");
            assertThat(reconstruct(d, block(1), 0x300)).isEqualTo("img1+a+b");
        }
    }

    @Test
    void flippedIndexByteFailsLookupsInThatBlock() throws IOException {
        Path path;
        long indexOffset;
        try (DeltaLayer d = writeDelta()) {
            path = d.path();
        }
        indexOffset = summary(path).getLong(84);
        flip(path, indexOffset + LayerFormat.ENTRY_SIZE + 30); // entry 1's value offset
        try (DeltaLayer d = DeltaLayer.open(path, TL)) {
            assertThatThrownBy(() -> reconstruct(d, block(0), 0x300))
                    .isInstanceOf(CorruptLayerException.class)
                    .hasMessageContaining("index block 0 checksum mismatch")
                    .hasMessageContaining("at offset " + indexOffset);
            assertThat(reconstruct(d, block(200), 0x300)).isEqualTo("img200+a+b");
        }
    }

    @Test
    void damagedFencesSummaryTruncationForeignAndNewerFilesAreRefusedAtOpen() throws IOException {
        Path path;
        try (DeltaLayer d = writeDelta()) {
            path = d.path();
        }
        byte[] good = Files.readAllBytes(path);

        Files.write(path, good);
        flip(path, good.length - 3);
        assertThatThrownBy(() -> DeltaLayer.open(path, TL)).hasMessageContaining("fence checksum mismatch");

        Files.write(path, good);
        flip(path, 70);
        assertThatThrownBy(() -> DeltaLayer.open(path, TL)).hasMessageContaining("summary checksum mismatch");

        Files.write(path, java.util.Arrays.copyOf(good, good.length - 1));
        assertThatThrownBy(() -> DeltaLayer.open(path, TL)).hasMessageContaining("truncated or damaged");

        Files.write(path, java.util.Arrays.copyOf(good, 40));
        assertThatThrownBy(() -> DeltaLayer.open(path, TL)).hasMessageContaining("shorter than the 128-byte summary");

        byte[] foreign = good.clone();
        foreign[0] = 'X';
        Files.write(path, foreign);
        assertThatThrownBy(() -> DeltaLayer.open(path, TL)).hasMessageContaining("is not a Strata layer file");

        byte[] newer = good.clone();
        newer[5] = 3;
        Files.write(path, newer);
        assertThatThrownBy(() -> DeltaLayer.open(path, TL)).isInstanceOf(CorruptLayerException.class)
                .hasMessageContaining("format version 3 is not supported");

        // A file of format version 1 (before images without zero runs) is still read.
        byte[] older = good.clone();
        older[5] = 1;
        java.util.zip.CRC32C summaryCrc = new java.util.zip.CRC32C();
        summaryCrc.update(older, 0, 124);
        java.nio.ByteBuffer.wrap(older).putInt(124, (int) summaryCrc.getValue());
        Files.write(path, older);
        try (DeltaLayer v1 = DeltaLayer.open(path, TL)) {
            assertThat(v1.entryCount()).isEqualTo(java.nio.ByteBuffer.wrap(good).getLong(76)).isPositive();
            List<Lsn> lsns = new ArrayList<>();
            v1.forEachEntry((key, lsn, value) -> lsns.add(lsn));
            assertThat(lsns).hasSize((int) v1.entryCount());
        }

        Files.write(path, good);
        assertThatThrownBy(() -> DeltaLayer.open(path, TimelineId.parse("00".repeat(16))))
                .hasMessageContaining("belongs to timeline " + TL);
        assertThatThrownBy(() -> ImageLayer.open(path, TL)).hasMessageContaining("expected an image layer");

        Path renamed = dir.resolve(LayerName.delta(KeyRange.ALL, new LsnRange(Lsn.of(1), Lsn.of(2))).toString());
        Files.move(path, renamed);
        assertThatThrownBy(() -> DeltaLayer.open(renamed, TL)).hasMessageContaining("not the file's name");
    }

    private static ByteBuffer summary(Path path) throws IOException {
        return ByteBuffer.wrap(Files.readAllBytes(path), 0, 128).slice();
    }

    private static void flip(Path path, long offset) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(path.toFile(), "rw")) {
            f.seek(offset);
            int b = f.read();
            f.seek(offset);
            f.write(b ^ 0x40);
        }
    }
}
