package dev.strata.pageserver.redo.heap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/** Decoding of heap record bodies, laid out byte by byte as PostgreSQL 17 writes them. */
class HeapRecordsTest {

    private static ByteBuffer le(int capacity) {
        return ByteBuffer.allocate(capacity).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void updateStructWithItsAlignmentPadding() {
        ByteBuffer b = le(14).putInt(0x11223344).putShort((short) 5).put((byte) 0x12).put((byte) 0x60)
                .putInt(0x55).putShort((short) 9);
        HeapRecords.Update u = HeapRecords.Update.decode(b.flip());
        assertThat(u).isEqualTo(new HeapRecords.Update(0x11223344, 5, 0x12, 0x60, 0x55, 9));
        assertThatThrownBy(() -> HeapRecords.Update.decode(le(13)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("xl_heap_update");
    }

    @Test
    void multiInsertOffsetsOnlyWithoutInit() {
        ByteBuffer b = le(8).put((byte) 1).put((byte) 0).putShort((short) 2).putShort((short) 7).putShort((short) 8);
        HeapRecords.MultiInsert m = HeapRecords.MultiInsert.decode(b.flip(), false);
        assertThat(m.ntuples()).isEqualTo(2);
        assertThat(m.offsets()).containsExactly(7, 8);
        assertThat(HeapRecords.MultiInsert.decode(le(4).put((byte) 0).put((byte) 0).putShort((short) 3).flip(), true)
                .offsets()).isNull();
    }

    @Test
    void pruneDataInItsFlagOrder() {
        int flags = HeapRecords.XLHP_HAS_FREEZE_PLANS | HeapRecords.XLHP_HAS_REDIRECTIONS
                | HeapRecords.XLHP_HAS_DEAD_ITEMS | HeapRecords.XLHP_HAS_NOW_UNUSED_ITEMS;
        ByteBuffer b = le(64);
        b.putShort((short) 1).putShort((short) 0);                   // xlhp_freeze_plans: nplans, padding
        b.putInt(0).putShort((short) 3).putShort((short) 0x0B00).put((byte) 0).put((byte) 0).putShort((short) 2);
        b.putShort((short) 1).putShort((short) 4).putShort((short) 6); // one redirect 4 -> 6
        b.putShort((short) 1).putShort((short) 5);                      // dead 5
        b.putShort((short) 2).putShort((short) 2).putShort((short) 3);  // unused 2, 3
        b.putShort((short) 1).putShort((short) 6);                      // frozen offsets of the plan
        HeapRecords.PruneData d = HeapRecords.PruneData.decode(b.flip(), flags);
        assertThat(d.plans()).containsExactly(new HeapRecords.FreezePlan(0, 3, 0x0B00, 0, 2));
        assertThat(d.redirected()).containsExactly(4, 6);
        assertThat(d.nowDead()).containsExactly(5);
        assertThat(d.nowUnused()).containsExactly(2, 3);
        assertThat(d.frozenOffsets()).containsExactly(1, 6);
        assertThatThrownBy(() -> HeapRecords.PruneData.decode(le(6).putShort((short) 1).putShort((short) 5)
                .putShort((short) 9).flip(), HeapRecords.XLHP_HAS_DEAD_ITEMS))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("left over");
    }
}
