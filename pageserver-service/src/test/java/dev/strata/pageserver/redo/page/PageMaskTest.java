package dev.strata.pageserver.redo.page;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PageMaskTest {

    /** A page with one 40-byte item below a special space of {@code specialSize} bytes. */
    private static byte[] pageWithOneItem(int specialSize) {
        byte[] p = new byte[8192];
        int special = 8192 - specialSize;
        int upper = special - 40;
        put16(p, 12, 28); // pd_lower: one line pointer
        put16(p, 14, upper);
        put16(p, 16, special);
        put16(p, 18, 8192 | 4); // page size and layout version
        int lp = upper | 1 << 15 | 40 << 17; // lp_off, LP_NORMAL, lp_len
        p[24] = (byte) lp;
        p[25] = (byte) (lp >>> 8);
        p[26] = (byte) (lp >>> 16);
        p[27] = (byte) (lp >>> 24);
        for (int i = upper; i < special; i++) {
            p[i] = (byte) (i * 7 + 1);
        }
        return p;
    }

    private static void put16(byte[] p, int off, int v) {
        p[off] = (byte) v;
        p[off + 1] = (byte) (v >>> 8);
    }

    @Test
    void aMaskThatSeesTheFirstItemByteIsNotBlind() {
        byte[] heap = pageWithOneItem(0);
        assertThat(PageMask.blindSpot(heap, heap.clone(), PageMask.Kind.HEAP)).isEqualTo(-1);
        byte[] leaf = pageWithOneItem(16);
        put16(leaf, 8192 - 16 + 12, 1); // BTP_LEAF
        assertThat(PageMask.blindSpot(leaf, leaf.clone(), PageMask.Kind.BTREE)).isEqualTo(-1);
    }

    @Test
    void aMaskThatHidesTheItemsIsBlindThere() {
        // A hash page whose type bits say "unused" is masked whole (hash_mask): with an item on
        // it, a flipped byte of that item goes unseen, and blindSpot names where.
        byte[] unused = pageWithOneItem(16);
        int upper = 8192 - 16 - 40;
        assertThat(PageMask.blindSpot(unused, unused.clone(), PageMask.Kind.HASH)).isEqualTo(upper);
    }

    @Test
    void aPageWithoutItemsHasNothingToCheck() {
        byte[] empty = new byte[8192];
        put16(empty, 12, 24);
        put16(empty, 14, 8192);
        put16(empty, 16, 8192);
        assertThat(PageMask.blindSpot(empty, empty.clone(), PageMask.Kind.HEAP)).isEqualTo(-1);
        assertThat(PageMask.blindSpot(new byte[8192], new byte[8192], PageMask.Kind.BTREE)).isEqualTo(-1);
    }
}
