package dev.strata.pageserver.redo.brin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.redo.page.ItemId;
import dev.strata.pageserver.redo.page.Page;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * BRIN's page operations on hand-made pages: {@code PageIndexTupleDeleteNoCompact} (the line
 * pointer becomes unused, or is cut off when it is the last; only the data below the hole
 * moves), the revmap slot layout and {@code brin_mask}. {@code BrinGenericRedoOracleTest}
 * checks the same against real pages.
 */
class BrinPageOpsTest {

    private static byte[] regularPage(int n) {
        byte[] p = new byte[Page.SIZE];
        BrinRedo.pageInit(p, BrinRedo.PAGETYPE_REGULAR);
        for (int i = 1; i <= n; i++) {
            byte[] t = new byte[12];
            Arrays.fill(t, (byte) i);
            Page.addItemOverwrite(p, t, 0, t.length, i, false);
        }
        return p;
    }

    @Test
    void deleteInTheMiddleLeavesAnUnusedPointerAndMovesOnlyTheDataBelow() {
        byte[] p = regularPage(3); // 16-byte slots at 8168, 8152, 8136 (special 8184)
        assertThat(Page.special(p)).isEqualTo(8184);
        assertThat(ItemId.offset(p, 3)).isEqualTo(8136);
        BrinRedo.deleteNoCompact(p, 2);
        assertThat(Page.maxOffset(p)).isEqualTo(3);
        assertThat(ItemId.isUsed(p, 2)).isFalse();
        assertThat(ItemId.offset(p, 1)).isEqualTo(8168);
        assertThat(ItemId.offset(p, 3)).isEqualTo(8152);
        assertThat(p[8152]).isEqualTo((byte) 3);
        assertThat(Page.upper(p)).isEqualTo(8152);
    }

    @Test
    void deleteOfTheLastCutsThePointerOff() {
        byte[] p = regularPage(2);
        int lower = Page.lower(p);
        BrinRedo.deleteNoCompact(p, 2);
        assertThat(Page.lower(p)).isEqualTo(lower - ItemId.SIZE);
        assertThat(Page.upper(p)).isEqualTo(8168);
        assertThat(ItemId.offset(p, 1)).isEqualTo(8168);
        assertThatThrownBy(() -> BrinRedo.deleteNoCompact(p, 2)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void revmapSlotIsBlockHiLoAndOffsetAfterTheHeader() {
        byte[] p = new byte[Page.SIZE];
        BrinRedo.pageInit(p, BrinRedo.PAGETYPE_REVMAP);
        // pagesPerRange 4, heap block 4 * 1361 + 3: range 1361, slot 1361 % 1360 = 1
        BrinRedo.setRevmapItem(p, 4, 4L * 1361 + 3, 0x12345L, 7);
        assertThat(Page.u16(p, 24 + 6)).isEqualTo(0x1);
        assertThat(Page.u16(p, 24 + 8)).isEqualTo(0x2345);
        assertThat(Page.u16(p, 24 + 10)).isEqualTo(7);
        BrinRedo.setRevmapItem(p, 4, 4L * 1361, 0xFFFFFFFFL, 0);
        assertThat(Page.u32(p, 24 + 6)).isEqualTo(-1);
        assertThat(BrinRedo.REVMAP_PAGE_MAXITEMS).isEqualTo(1360);
    }

    @Test
    void maskHidesTheEvacuateFlagAndTheHoleOfRegularPagesOnly() {
        byte[] regular = regularPage(1);
        byte[] revmap = new byte[Page.SIZE];
        BrinRedo.pageInit(revmap, BrinRedo.PAGETYPE_REVMAP);
        BrinRedo.setRevmapItem(revmap, 1, 0, 3, 1);
        for (byte[] p : new byte[][] {regular, revmap}) {
            Page.putU16(p, Page.special(p) + 4, BrinRedo.EVACUATE_PAGE);
            p[100] = 9; // in pd_lower..pd_upper of both
        }
        new BrinRedo().mask(regular, 1);
        new BrinRedo().mask(revmap, 1);
        assertThat(regular[100]).isZero();
        assertThat(revmap[100]).isEqualTo((byte) 9);
        assertThat(Page.u16(regular, Page.special(regular) + 4)).isZero();
        assertThat(Page.u16(revmap, Page.special(revmap) + 4)).isZero();
        assertThat(Page.u16(revmap, 24 + 4)).isEqualTo(1);
    }
}
