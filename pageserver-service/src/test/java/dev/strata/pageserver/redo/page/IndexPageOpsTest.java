package dev.strata.pageserver.redo.page;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The index forms of bufpage.c on hand-made pages: {@code PageAddItem} without overwrite
 * (line pointers shuffle up), {@code PageIndexTupleDelete} (keeps the physical order),
 * {@code PageIndexMultiDelete} (compacts in line pointer order when more than two go) and
 * {@code PageIndexTupleOverwrite}. The layouts asserted are the ones PostgreSQL produces; the
 * oracle tests check the same against real pages.
 */
class IndexPageOpsTest {

    private static byte[] item(int len, int fill) {
        byte[] b = new byte[len];
        Arrays.fill(b, (byte) fill);
        return b;
    }

    /** A page with special space 16 and items 1..n of 16 bytes filled with their number. */
    private static byte[] page(int n) {
        byte[] p = new byte[Page.SIZE];
        Page.init(p, 16);
        for (int i = 1; i <= n; i++) {
            Page.addItem(p, item(16, i), 0, 16, i);
        }
        return p;
    }

    private static int fillOf(byte[] p, int offnum) {
        return p[ItemId.offset(p, offnum)];
    }

    @Test
    void addItemInTheMiddleShufflesLinePointersUp() {
        byte[] p = page(3); // items at 8160, 8144, 8128
        Page.addItem(p, item(20, 9), 0, 20, 2);
        assertThat(Page.maxOffset(p)).isEqualTo(4);
        assertThat(ItemId.offset(p, 2)).isEqualTo(8128 - 24);
        assertThat(ItemId.length(p, 2)).isEqualTo(20);
        assertThat(fillOf(p, 1)).isEqualTo(1);
        assertThat(fillOf(p, 2)).isEqualTo(9);
        assertThat(fillOf(p, 3)).isEqualTo(2);
        assertThat(fillOf(p, 4)).isEqualTo(3);
        assertThat(Page.upper(p)).isEqualTo(8104);
        assertThatThrownBy(() -> Page.addItem(p, item(8, 1), 0, 8, 6)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void tupleDeleteClosesTheGapAndKeepsPhysicalOrder() {
        byte[] p = page(3);
        Page.indexTupleDelete(p, 2); // item 2 was at 8144; item 3 (8128) moves up to 8144
        assertThat(Page.maxOffset(p)).isEqualTo(2);
        assertThat(ItemId.offset(p, 1)).isEqualTo(8160);
        assertThat(ItemId.offset(p, 2)).isEqualTo(8144);
        assertThat(fillOf(p, 2)).isEqualTo(3);
        assertThat(Page.upper(p)).isEqualTo(8144);
    }

    @Test
    void multiDeleteOfMoreThanTwoCompactsInLinePointerOrder() {
        byte[] p = page(6);
        Page.addItem(p, item(16, 7), 0, 16, 1); // physically lowest, logically first
        Page.indexMultiDelete(p, new int[] {2, 4, 6}, 3);
        // after the insert at 1 the line pointers hold 7,1,2,3,4,5,6; deleting 2, 4, 6 leaves 7, 2, 4, 6
        assertThat(Page.maxOffset(p)).isEqualTo(4);
        assertThat(new int[] {fillOf(p, 1), fillOf(p, 2), fillOf(p, 3), fillOf(p, 4)}).containsExactly(7, 2, 4, 6);
        // compactify_tuples lays them out in line pointer order down from pd_special
        assertThat(new int[] {ItemId.offset(p, 1), ItemId.offset(p, 2), ItemId.offset(p, 3), ItemId.offset(p, 4)})
                .containsExactly(8160, 8144, 8128, 8112);
        assertThat(Page.upper(p)).isEqualTo(8112);
        assertThatThrownBy(() -> Page.indexMultiDelete(page(3), new int[] {3, 2, 1}, 3))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void multiDeleteOfTwoGoesOneByOne() {
        byte[] p = page(4);
        Page.addItem(p, item(16, 7), 0, 16, 1); // at 8096: physical order is not line pointer order
        Page.indexMultiDelete(p, new int[] {2, 4}, 2); // items 1 and 3
        assertThat(new int[] {fillOf(p, 1), fillOf(p, 2), fillOf(p, 3)}).containsExactly(7, 2, 4);
        // retail deletes move the data below each hole up: 7 stays lowest
        assertThat(ItemId.offset(p, 1)).isEqualTo(8128);
        assertThat(ItemId.offset(p, 2)).isEqualTo(8160);
        assertThat(ItemId.offset(p, 3)).isEqualTo(8144);
    }

    @Test
    void overwriteMovesTheDataBelowByTheSizeDifference() {
        byte[] p = page(3);
        Page.indexTupleOverwrite(p, 2, item(8, 9), 8); // 16 -> 8 bytes: item 3 moves up by 8
        assertThat(ItemId.offset(p, 2)).isEqualTo(8152);
        assertThat(ItemId.length(p, 2)).isEqualTo(8);
        assertThat(ItemId.offset(p, 3)).isEqualTo(8136);
        assertThat(fillOf(p, 3)).isEqualTo(3);
        assertThat(Page.upper(p)).isEqualTo(8136);
        assertThat(fillOf(p, 2)).isEqualTo(9);
    }

    @Test
    void lpFlagsMaskKeepsOffsetAndLength() {
        byte[] p = page(2);
        ItemId.set(p, 2, ItemId.offset(p, 2), ItemId.LP_DEAD, 16);
        PageMasks.lpFlags(p);
        assertThat(ItemId.flags(p, 1)).isEqualTo(ItemId.LP_UNUSED);
        assertThat(ItemId.flags(p, 2)).isEqualTo(ItemId.LP_UNUSED);
        assertThat(ItemId.offset(p, 2)).isEqualTo(8144);
        assertThat(ItemId.length(p, 2)).isEqualTo(16);
    }
}
