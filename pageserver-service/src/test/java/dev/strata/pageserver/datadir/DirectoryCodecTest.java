package dev.strata.pageserver.datadir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class DirectoryCodecTest {

    @Test
    void dbDirectoryRoundTripsSortedUnsigned() {
        DbDirectory d = DbDirectory.EMPTY.with(1663, 16384).with(1664, 0).with(1663, 1).with(1663, 0x8000_0000);
        DbDirectory back = DbDirectory.decode(d.encode());
        assertThat(back).isEqualTo(d);
        assertThat(back.entries()).extracting(DbDirectory.Db::dbOid).containsExactly(1, 16384, 0x8000_0000, 0);
        assertThat(back.without(1663, 1).contains(1663, 1)).isFalse();
        assertThat(DbDirectory.decode(null)).isEqualTo(DbDirectory.EMPTY);
    }

    @Test
    void relDirectoryListsForksAndDropsWholeRelations() {
        RelDirectory r = RelDirectory.EMPTY.with(16384, 0).with(16384, 2).with(16390, 0);
        RelDirectory back = RelDirectory.decode(r.encode());
        assertThat(back).isEqualTo(r);
        assertThat(back.containsRelation(16384)).isTrue();
        assertThat(back.withoutRelation(16384).entries()).containsExactly(new RelDirectory.RelFork(16390, 0));
        assertThatThrownBy(() -> new RelDirectory.RelFork(1, 4)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void numberSetKeepsUnsignedOrder() {
        NumberSet s = NumberSet.of(5, -1, 0, 5);
        assertThat(s.size()).isEqualTo(3);
        assertThat(s.toArray()).containsExactly(0, 5, -1);
        assertThat(NumberSet.decode(s.encode())).isEqualTo(s);
        assertThat(s.without(5).contains(5)).isFalse();
    }

    @Test
    void damagedValuesAreRefusedWithTheReason() {
        byte[] good = NumberSet.of(1, 2).encode();
        byte[] truncated = java.util.Arrays.copyOf(good, good.length - 1);
        assertThatThrownBy(() -> NumberSet.decode(truncated)).hasMessageContaining("2 entries need 13 bytes");
        byte[] badVersion = good.clone();
        badVersion[0] = 9;
        assertThatThrownBy(() -> NumberSet.decode(badVersion)).hasMessageContaining("format version 9");
        byte[] unsorted = NumberSet.of(1, 2).encode();
        unsorted[8] = 3; // first entry becomes 3 > 2
        assertThatThrownBy(() -> NumberSet.decode(unsorted)).hasMessageContaining("not strictly ascending");
        assertThatThrownBy(() -> DbDirectory.decode(new byte[2])).hasMessageContaining("shorter than");
    }

    @Test
    void blockCountIsLittleEndian() {
        assertThat(BlockCount.encode(258)).containsExactly(2, 1, 0, 0);
        assertThat(BlockCount.decode(BlockCount.encode(0xFFFF_FFFEL))).isEqualTo(0xFFFF_FFFEL);
        assertThat(BlockCount.decode(null)).isEqualTo(-1);
    }
}
