package dev.strata.pageserver.redo.page;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** heap_mask: what it hides and, as important, what it leaves to compare. */
class PageMasksTest {

    /** A heap page with one 29-byte tuple (3 bytes of padding) at offset 1. */
    private static byte[] page() {
        byte[] p = new byte[Page.SIZE];
        Page.init(p, 0);
        byte[] t = new byte[29];
        Arrays.fill(t, (byte) 0x33);
        HeapTuple.setInfomask(t, 0, HeapTuple.HEAP_XMIN_COMMITTED | 0x0002);
        HeapTuple.setCtid(t, 0, 7, 1);
        Page.addItemOverwrite(p, t, 0, t.length, 1, true);
        return p;
    }

    @Test
    void hidesHintsCidPaddingLsnAndUnusedSpace() {
        byte[] a = page();
        byte[] b = page();
        int t = ItemId.offset(b, 1);
        Page.setLsn(b, 0x1234);
        Page.putU16(b, Page.OFF_CHECKSUM, 99);
        Page.putU32(b, Page.OFF_PRUNE_XID, 77);
        Page.setFlag(b, Page.PD_ALL_VISIBLE | Page.PD_HAS_FREE_LINES | Page.PD_PAGE_FULL, true);
        HeapTuple.setInfomask(b, t, HeapTuple.infomask(b, t) | HeapTuple.HEAP_XMAX_INVALID);
        HeapTuple.setField3(b, t, 42);
        b[t + 29] = 9; // padding after the tuple
        b[500] = 1;    // between pd_lower and pd_upper
        PageMasks.heap(a, 7);
        PageMasks.heap(b, 7);
        assertThat(b).isEqualTo(a);
    }

    @Test
    void leavesDataXminXmaxCtidAndNonHintBitsToCompare() {
        for (int at : new int[] {0, 4, 12, 16, 18, 22, 23, 28}) {
            byte[] a = page();
            byte[] b = page();
            b[ItemId.offset(b, 1) + at] ^= 0x01;
            PageMasks.heap(a, 7);
            PageMasks.heap(b, 7);
            assertThat(b).as("byte %d of the tuple", at).isNotEqualTo(a);
        }
        byte[] a = page();
        byte[] b = page();
        Page.putU16(b, Page.OFF_LOWER, Page.lower(b) + 4); // an extra line pointer
        PageMasks.heap(a, 7);
        PageMasks.heap(b, 7);
        assertThat(b).isNotEqualTo(a);
    }

    @Test
    void frozenXminKeepsXminHintBitsButNotXmaxHints() {
        byte[] a = page();
        int t = ItemId.offset(a, 1);
        HeapTuple.setInfomask(a, t, HeapTuple.HEAP_XMIN_FROZEN | HeapTuple.HEAP_XMAX_INVALID | 0x0002);
        PageMasks.heap(a, 7);
        assertThat(HeapTuple.infomask(a, t)).isEqualTo(HeapTuple.HEAP_XMIN_FROZEN | 0x0002);
    }

    @Test
    void speculativeCtidBecomesTheTuplesOwnTid() {
        byte[] a = page();
        int t = ItemId.offset(a, 1);
        HeapTuple.setCtid(a, t, 12345, HeapTuple.SPEC_TOKEN_OFFSET);
        PageMasks.heap(a, 7);
        byte[] b = page();
        PageMasks.heap(b, 7);
        assertThat(a).isEqualTo(b);
    }

    @Test
    void insanePointersAreAnError() {
        byte[] a = page();
        Page.setLower(a, 9000);
        assertThatThrownBy(() -> PageMasks.heap(a, 7)).isInstanceOf(IllegalStateException.class);
    }
}
