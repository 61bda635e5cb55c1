package dev.strata.pageserver.redo.gin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.redo.page.Page;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * GIN's posting list codec and posting tree leaf actions on hand-made data: the varbyte bytes
 * of a known list, round trips across block boundaries and large deltas, the merge, and
 * {@code ginRedoRecompress}'s segment actions. {@code GinRedoOracleTest} checks the same
 * against real pages.
 */
class GinPageTest {

    private static long tid(long block, int offset) {
        return block << 16 | offset;
    }

    @Test
    void encodesTheFirstItemThenVarbyteDeltasPaddedToEvenLength() {
        // (0,1), (0,2), (1,1): as 43-bit integers 1, 2, 2049; deltas 1 and 2047 (0x7FF: 0xFF 0x0F)
        byte[] seg = GinPostingList.encode(new long[] {tid(0, 1), tid(0, 2), tid(1, 1)}, 3, Page.SIZE);
        assertThat(seg).containsExactly(0, 0, 0, 0, 1, 0, 3, 0, 0x01, 0xFF - 256, 0x0F, 0);
        assertThat(GinPostingList.size(seg, 0)).isEqualTo(12);
        assertThat(GinPostingList.decodeAll(seg, 0, seg.length)).containsExactly(tid(0, 1), tid(0, 2), tid(1, 1));
    }

    @Test
    void roundTripsLargeBlocksAndDeltas() {
        long[] items = {tid(0, 1), tid(70_000, 5), tid(70_000, 2047), tid(0xFFFF_FFFEL, 1), tid(0xFFFF_FFFEL, 3)};
        byte[] seg = GinPostingList.encode(items, items.length, Page.SIZE);
        assertThat(GinPostingList.decodeAll(seg, 0, seg.length)).containsExactly(items);
        byte[] two = new byte[seg.length * 2];
        System.arraycopy(seg, 0, two, 0, seg.length);
        byte[] second = GinPostingList.encode(new long[] {tid(0xFFFF_FFFEL, 9)}, 1, Page.SIZE);
        System.arraycopy(second, 0, two, seg.length, second.length);
        assertThat(GinPostingList.decodeAll(two, 0, seg.length + second.length)).hasSize(6).endsWith(tid(0xFFFF_FFFEL, 9));
        assertThatThrownBy(() -> GinPostingList.encode(new long[] {tid(1, 2), tid(1, 2)}, 2, Page.SIZE))
                .hasMessageContaining("out of order");
    }

    @Test
    void mergeKeepsOneCopyOfEqualItems() {
        long[] a = {tid(1, 1), tid(1, 3), tid(2, 1)};
        long[] b = {tid(1, 2), tid(1, 3), tid(3, 1)};
        assertThat(GinPostingList.merge(a, 3, b, 3)).containsExactly(tid(1, 1), tid(1, 2), tid(1, 3), tid(2, 1), tid(3, 1));
        assertThat(GinPostingList.merge(b, 0, a, 3)).containsExactly(a);
        assertThat(GinPostingList.merge(new long[] {tid(9, 1)}, 1, a, 3)).endsWith(tid(9, 1)).startsWith(tid(1, 1));
    }

    /** A compressed posting tree leaf holding {@code segments}, back to back from offset 32. */
    private static byte[] leaf(byte[]... segments) {
        byte[] p = new byte[Page.SIZE];
        GinPage.init(p, GinPage.GIN_DATA | GinPage.GIN_LEAF | GinPage.GIN_COMPRESSED);
        int at = GinPage.DATA;
        for (byte[] s : segments) {
            System.arraycopy(s, 0, p, at, s.length);
            at += s.length;
        }
        GinPage.setDataSize(p, at - GinPage.DATA);
        return p;
    }

    private static byte[] seg(long... items) {
        return GinPostingList.encode(items, items.length, Page.SIZE);
    }

    @Test
    void recompressAppliesEachSegmentAction() throws Exception {
        byte[] s0 = seg(tid(1, 1), tid(1, 3));
        byte[] s1 = seg(tid(2, 1), tid(2, 2));
        byte[] s2 = seg(tid(3, 1));
        byte[] page = leaf(s0, s1, s2);
        ByteArrayOutputStream wal = new ByteArrayOutputStream();
        wal.write(new byte[] {4, 0}); // nactions
        wal.write(new byte[] {0, GinPage.GIN_SEGMENT_ADDITEMS, 1, 0}); // segment 0 gets one item
        byte[] item = new byte[6];
        GinPostingList.writeItem(item, 0, tid(1, 2));
        wal.write(item);
        wal.write(new byte[] {1, GinPage.GIN_SEGMENT_DELETE}); // segment 1 goes
        byte[] replacement = seg(tid(3, 1), tid(3, 7));
        wal.write(new byte[] {2, GinPage.GIN_SEGMENT_REPLACE});
        wal.write(replacement);
        byte[] appended = seg(tid(4, 1));
        wal.write(new byte[] {3, GinPage.GIN_SEGMENT_INSERT});
        wal.write(appended);
        GinPage.recompress(page, wal.toByteArray(), 0);

        byte[] expected = leaf(seg(tid(1, 1), tid(1, 2), tid(1, 3)), replacement, appended);
        assertThat(Page.lower(page)).isEqualTo(Page.lower(expected));
        assertThat(Arrays.copyOf(page, Page.lower(page))).isEqualTo(Arrays.copyOf(expected, Page.lower(expected)));
        assertThat(GinPostingList.decodeAll(page, GinPage.DATA, Page.lower(page) - GinPage.DATA))
                .containsExactly(tid(1, 1), tid(1, 2), tid(1, 3), tid(3, 1), tid(3, 7), tid(4, 1));
    }

    @Test
    void recompressRejectsAnActionPastTheLastSegment() {
        byte[] page = leaf(seg(tid(1, 1)));
        byte[] wal = {1, 0, 1, GinPage.GIN_SEGMENT_DELETE};
        assertThatThrownBy(() -> GinPage.recompress(page, wal, 0)).hasMessageContaining("past the last segment");
    }

    @Test
    void postingItemsShiftOnAddAndDelete() {
        byte[] p = new byte[Page.SIZE];
        GinPage.init(p, GinPage.GIN_DATA);
        byte[] item = new byte[GinPage.POSTING_ITEM_SIZE];
        for (int i = 1; i <= 3; i++) {
            GinPostingList.putBlockId(item, 0, 100 + i);
            GinPage.addPostingItem(p, item, 0, 0); // at the end
        }
        GinPostingList.putBlockId(item, 0, 0x12345);
        GinPage.addPostingItem(p, item, 0, 2);
        assertThat(GinPage.maxoff(p)).isEqualTo(4);
        assertThat(Page.lower(p)).isEqualTo(GinPage.DATA + 4 * GinPage.POSTING_ITEM_SIZE);
        assertThat(GinPostingList.blockId(p, GinPage.postingItem(2))).isEqualTo(0x12345);
        assertThat(p[GinPage.postingItem(2)]).isEqualTo((byte) 0x01); // bi_hi first
        assertThat(GinPostingList.blockId(p, GinPage.postingItem(3))).isEqualTo(102);
        GinPage.deletePostingItem(p, 1);
        assertThat(GinPostingList.blockId(p, GinPage.postingItem(1))).isEqualTo(0x12345);
        assertThat(GinPage.maxoff(p)).isEqualTo(3);
        assertThat(Page.lower(p)).isEqualTo(GinPage.DATA + 3 * GinPage.POSTING_ITEM_SIZE);
    }
}
