package dev.strata.pageserver.redo.page;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The bufpage.c equivalents on hand-made pages, with the layouts PostgreSQL produces. */
class PageTest {

    private static byte[] item(int len, int fill) {
        byte[] b = new byte[len];
        java.util.Arrays.fill(b, (byte) fill);
        return b;
    }

    private static byte[] emptyPage() {
        byte[] p = new byte[Page.SIZE];
        Page.init(p, 0);
        return p;
    }

    @Test
    void initWritesTheEmptyHeader() {
        byte[] p = new byte[Page.SIZE];
        java.util.Arrays.fill(p, (byte) 7);
        Page.init(p, 16);
        assertThat(Page.lower(p)).isEqualTo(24);
        assertThat(Page.upper(p)).isEqualTo(8192 - 16);
        assertThat(Page.special(p)).isEqualTo(8192 - 16);
        assertThat(Page.u16(p, Page.OFF_PAGESIZE_VERSION)).isEqualTo(8192 | 4);
        assertThat(Page.maxOffset(p)).isZero();
        assertThat(p[100]).isZero();
        assertThat(Page.isNew(new byte[Page.SIZE])).isTrue();
        assertThat(Page.isNew(p)).isFalse();
    }

    @Test
    void linePointerBitFieldsAsGccLaysThemOut() {
        byte[] p = emptyPage();
        ItemId.set(p, 1, 8000, ItemId.LP_NORMAL, 100);
        assertThat(Page.u32(p, 24)).isEqualTo(8000 | 1 << 15 | 100 << 17);
        assertThat(ItemId.offset(p, 1)).isEqualTo(8000);
        assertThat(ItemId.flags(p, 1)).isEqualTo(ItemId.LP_NORMAL);
        assertThat(ItemId.length(p, 1)).isEqualTo(100);
        ItemId.setRedirect(p, 1, 7);
        assertThat(ItemId.offset(p, 1)).isEqualTo(7);
        assertThat(ItemId.hasStorage(p, 1)).isFalse();
        assertThat(ItemId.isUsed(p, 1)).isTrue();
        ItemId.setDead(p, 1);
        assertThat(ItemId.flags(p, 1)).isEqualTo(ItemId.LP_DEAD);
        ItemId.setUnused(p, 1);
        assertThat(Page.u32(p, 24)).isZero();
        assertThatThrownBy(() -> ItemId.set(p, 1, 1 << 15, 1, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void addItemPlacesMaxalignedItemsTopDown() {
        byte[] p = emptyPage();
        assertThat(Page.addItemOverwrite(p, item(30, 1), 0, 30, 1, true)).isEqualTo(1);
        assertThat(Page.upper(p)).isEqualTo(8192 - 32);
        assertThat(Page.lower(p)).isEqualTo(28);
        assertThat(ItemId.length(p, 1)).isEqualTo(30);
        Page.addItemOverwrite(p, item(8, 2), 0, 8, 2, true);
        assertThat(ItemId.offset(p, 2)).isEqualTo(8192 - 40);
        assertThat(p[8192 - 40]).isEqualTo((byte) 2);
        // Beyond the next offset, or over a used pointer: PostgreSQL returns InvalidOffsetNumber, redo PANICs.
        assertThatThrownBy(() -> Page.addItemOverwrite(p, item(8, 3), 0, 8, 4, true))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> Page.addItemOverwrite(p, item(8, 3), 0, 8, 1, true))
                .isInstanceOf(IllegalStateException.class);
        // An unused pointer in the middle is reused without growing the array.
        ItemId.setUnused(p, 1);
        int lower = Page.lower(p);
        Page.addItemOverwrite(p, item(16, 4), 0, 16, 1, true);
        assertThat(Page.lower(p)).isEqualTo(lower);
        assertThat(ItemId.offset(p, 1)).isEqualTo(8192 - 56);
    }

    @Test
    void addItemRefusesWhatDoesNotFit() {
        byte[] p = emptyPage();
        assertThatThrownBy(() -> Page.addItemOverwrite(p, item(8200, 0), 0, 8200 - 24, 1, true))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("no room");
    }

    @Test
    void repairFragmentationCompactsInLinePointerOrderAndCutsTheTail() {
        byte[] p = emptyPage();
        for (int i = 1; i <= 5; i++) {
            Page.addItemOverwrite(p, item(20, i), 0, 20, i, true); // 24 bytes each, item 1 at the top
        }
        ItemId.setDead(p, 2);    // loses its storage
        ItemId.setRedirect(p, 3, 4);
        ItemId.setUnused(p, 5);  // at the end: cut off
        Page.repairFragmentation(p);
        assertThat(Page.maxOffset(p)).isEqualTo(4);
        assertThat(ItemId.offset(p, 1)).isEqualTo(8192 - 24);
        assertThat(ItemId.offset(p, 4)).isEqualTo(8192 - 48); // moved up into 2's old place
        assertThat(p[8192 - 48]).isEqualTo((byte) 4);
        assertThat(p[8192 - 48 + 19]).isEqualTo((byte) 4);
        assertThat(Page.upper(p)).isEqualTo(8192 - 48);
        assertThat(Page.hasFlag(p, Page.PD_HAS_FREE_LINES)).isFalse();
        // An unused pointer in the middle stays and sets the hint.
        ItemId.setUnused(p, 2);
        Page.repairFragmentation(p);
        assertThat(Page.maxOffset(p)).isEqualTo(4);
        assertThat(Page.hasFlag(p, Page.PD_HAS_FREE_LINES)).isTrue();
    }

    @Test
    void repairFragmentationOfOutOfOrderItems() {
        byte[] p = emptyPage();
        Page.addItemOverwrite(p, item(16, 1), 0, 16, 1, true);
        Page.addItemOverwrite(p, item(16, 2), 0, 16, 2, true);
        Page.addItemOverwrite(p, item(16, 3), 0, 16, 3, true);
        // Swap the storage of 1 and 3: not presorted; PostgreSQL still lays them out in line pointer order.
        int w1 = ItemId.word(p, 1);
        Page.putU32(p, ItemId.position(1), ItemId.word(p, 3));
        Page.putU32(p, ItemId.position(3), w1);
        ItemId.setDead(p, 2);
        Page.repairFragmentation(p);
        assertThat(ItemId.offset(p, 1)).isEqualTo(8192 - 16);
        assertThat(p[8192 - 16]).isEqualTo((byte) 3);
        assertThat(ItemId.offset(p, 3)).isEqualTo(8192 - 32);
        assertThat(p[8192 - 32]).isEqualTo((byte) 1);
    }

    @Test
    void repairFragmentationRefusesCorruptPointers() {
        byte[] p = emptyPage();
        Page.addItemOverwrite(p, item(16, 1), 0, 16, 1, true);
        ItemId.setNormal(p, 1, 100, 16); // below pd_upper
        assertThatThrownBy(() -> Page.repairFragmentation(p)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void truncateLinePointerArrayKeepsTheFirstAndHintsAtHoles() {
        byte[] p = emptyPage();
        for (int i = 1; i <= 4; i++) {
            Page.addItemOverwrite(p, item(8, i), 0, 8, i, true);
        }
        int upper = Page.upper(p);
        ItemId.setUnused(p, 2);
        ItemId.setUnused(p, 3);
        ItemId.setUnused(p, 4);
        Page.truncateLinePointerArray(p);
        assertThat(Page.maxOffset(p)).isEqualTo(1);
        assertThat(Page.upper(p)).isEqualTo(upper); // no tuple moves
        assertThat(Page.hasFlag(p, Page.PD_HAS_FREE_LINES)).isFalse();
        Page.addItemOverwrite(p, item(8, 5), 0, 8, 2, true);
        Page.addItemOverwrite(p, item(8, 6), 0, 8, 3, true);
        ItemId.setUnused(p, 2);
        Page.truncateLinePointerArray(p);
        assertThat(Page.maxOffset(p)).isEqualTo(3);
        assertThat(Page.hasFlag(p, Page.PD_HAS_FREE_LINES)).isTrue();
    }

    @Test
    void prunableKeepsTheOldestXidModulo2To32() {
        byte[] p = emptyPage();
        Page.setPrunable(p, 1000);
        Page.setPrunable(p, 2000);
        assertThat(Page.pruneXid(p)).isEqualTo(1000);
        Page.setPrunable(p, 900);
        assertThat(Page.pruneXid(p)).isEqualTo(900);
        Page.putU32(p, Page.OFF_PRUNE_XID, 5);
        Page.setPrunable(p, 0xFFFFFF00); // before 5 across the wraparound
        assertThat(Page.pruneXid(p)).isEqualTo(0xFFFFFF00);
        assertThat(Xids.precedes(0xFFFFFF00, 5)).isTrue();
        assertThat(Xids.precedes(2, 3)).isTrue();
    }

    @Test
    void lsnIsTwoLittleEndianHalvesHighFirst() {
        byte[] p = emptyPage();
        Page.setLsn(p, 0x0000000100000028L);
        assertThat(Page.u32(p, 0)).isEqualTo(1);
        assertThat(Page.u32(p, 4)).isEqualTo(0x28);
        assertThat(Page.lsn(p)).isEqualTo(0x0000000100000028L);
    }
}
