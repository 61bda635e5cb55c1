package dev.strata.pageserver.key;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class KeyTest {

    private static final List<Key> EVERY_KIND = List.of(
            Key.relationBlock(1663, 5, 16384, 0, 7),
            Key.relationSize(1663, 5, 16384, 0),
            Key.relmapperFile(1664, 0),
            Key.relationDirectory(1663, 5),
            Key.slruPage(SlruKind.CLOG, 3, 12),
            Key.slruSegmentSize(SlruKind.MULTIXACT_OFFSETS, 0),
            Key.slruDirectory(SlruKind.MULTIXACT_MEMBERS),
            Key.twoPhaseFile(0xFFFF_FFF0),
            Key.twoPhaseDirectory(),
            Key.databaseDirectory(),
            Key.checkpoint(),
            Key.controlFile());

    @Test
    void relationBlockAndSizeKeysAreToldApartAndTheRelationRangeHoldsNothingElse() {
        for (Key k : EVERY_KIND) {
            boolean block = k.equals(Key.relationBlock(1663, 5, 16384, 0, 7));
            boolean size = k.equals(Key.relationSize(1663, 5, 16384, 0));
            assertThat(k.isRelationBlock()).as(k.describe()).isEqualTo(block);
            assertThat(k.isRelationSize()).as(k.describe()).isEqualTo(size);
            assertThat(KeyRange.RELATIONS.contains(k)).as(k.describe()).isEqualTo(k.field1() == 0);
        }
        assertThat(KeyRange.RELATIONS.contains(new Key(0, -1, -1, -1, 0xFF, -1))).isTrue();
        assertThat(KeyRange.RELATIONS.contains(Key.slruPage(SlruKind.CLOG, 0, 0))).isFalse();
    }

    @Test
    void hexFormRoundTripsForEveryKind() {
        for (Key k : EVERY_KIND) {
            assertThat(k.toString()).hasSize(36).matches("[0-9a-f]+");
            assertThat(Key.parse(k.toString())).isEqualTo(k);
        }
    }

    @Test
    void describeIsReadableForEveryKind() {
        assertThat(EVERY_KIND.stream().map(Key::describe).toList()).containsExactly(
                "rel 1663/5/16384.0 blk 7", "rel 1663/5/16384.0 size", "relmap 1664/0", "reldir 1663/5",
                "slru clog seg 3 page 12", "slru multixact_offsets seg 0 size", "slru multixact_members dir",
                "twophase xid 4294967280", "twophase dir", "dbdir", "checkpoint", "control");
        assertThat(new Key(0x7F, 0, 0, 0, 0, 0).describe()).startsWith("raw 7f");
    }

    @Test
    void byteOrderIsKeyOrderAndBlocksOfAForkAreContiguous() {
        Random r = new Random(42);
        List<Key> keys = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            keys.add(new Key(r.nextInt(256), r.nextInt(), r.nextInt(), r.nextInt(), r.nextInt(256), r.nextInt()));
        }
        for (int i = 1; i < keys.size(); i++) {
            Key a = keys.get(i - 1);
            Key b = keys.get(i);
            int byBytes = java.util.Arrays.compareUnsigned(a.toBytes(), b.toBytes());
            assertThat(Integer.signum(a.compareTo(b))).isEqualTo(Integer.signum(byBytes));
            assertThat(Integer.signum(a.compareToEncoded(java.nio.ByteBuffer.wrap(b.toBytes()), 0)))
                    .isEqualTo(Integer.signum(byBytes));
        }
        KeyRange fork = KeyRange.relationBlocks(1663, 5, 16384, 0);
        assertThat(fork.contains(Key.relationBlock(1663, 5, 16384, 0, 0))).isTrue();
        assertThat(fork.contains(Key.relationBlock(1663, 5, 16384, 0, 0xFFFF_FFFE))).isTrue();
        assertThat(fork.contains(Key.relationSize(1663, 5, 16384, 0))).isFalse();
        assertThat(fork.contains(Key.relationBlock(1663, 5, 16384, 1, 0))).isFalse();
        assertThat(Key.relationBlock(1663, 5, 16384, 0, 2)).isLessThan(Key.relationBlock(1663, 5, 16384, 0, 0x8000_0000));
        KeyRange db = KeyRange.database(1663, 5);
        assertThat(db.contains(Key.relmapperFile(1663, 5))).isTrue();
        assertThat(db.contains(Key.relationSize(1663, 5, -1, 255))).isTrue();
        assertThat(db.contains(Key.relmapperFile(1663, 6))).isFalse();
    }

    @Test
    void nextCarriesAcrossFields() {
        assertThat(new Key(0, 0, 0, 0, 0, -1).next()).isEqualTo(new Key(0, 0, 0, 0, 1, 0));
        assertThat(new Key(0, 0, 0, 0, 255, -1).next()).isEqualTo(new Key(0, 0, 0, 1, 0, 0));
        assertThat(new Key(0, -1, -1, -1, 255, -1).next()).isEqualTo(new Key(1, 0, 0, 0, 0, 0));
        assertThatThrownBy(() -> Key.MAX.next()).isInstanceOf(ArithmeticException.class);
    }

    @Test
    void badInputIsRefusedWithTheValue() {
        assertThatThrownBy(() -> Key.parse("xyz")).hasMessageContaining("'xyz'");
        assertThatThrownBy(() -> Key.parse("zz".repeat(18))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Key.relationBlock(1663, 5, 0, 0, 1)).hasMessageContaining("relNumber 0");
        assertThatThrownBy(() -> Key.relationBlock(1663, 5, 1, 0, -1)).hasMessageContaining("InvalidBlockNumber");
        assertThatThrownBy(() -> new Key(256, 0, 0, 0, 0, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
