package dev.strata.pageserver.redo.btree;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.redo.page.Page;
import org.junit.jupiter.api.Test;

/**
 * The posting-list steps of btree redo ({@code _bt_swap_posting}, {@code _bt_form_posting},
 * {@code _bt_update_posting}) and the btree page helpers, on hand-made tuples. The oracle test
 * checks the same against real PostgreSQL pages.
 */
class BtreeRedoTest {

    /** A plain leaf tuple: TID (blk, off), a 4-byte key. */
    private static byte[] plain(int blk, int off, int key) {
        byte[] t = new byte[16];
        BtreePage.setTidBlock(t, 0, blk);
        BtreePage.setTidOffset(t, 0, off);
        BtreePage.setInfo(t, 0, 16);
        Page.putU32(t, 8, key);
        return t;
    }

    private static byte[] tids(int... blkOff) {
        byte[] b = new byte[blkOff.length / 2 * 6];
        for (int i = 0; i < blkOff.length / 2; i++) {
            BtreePage.setTidBlock(b, i * 6, blkOff[2 * i]);
            BtreePage.setTidOffset(b, i * 6, blkOff[2 * i + 1]);
        }
        return b;
    }

    @Test
    void formPostingAndSwapRepeatWhatThePrimaryDid() {
        byte[] base = plain(0, 1, 42);
        byte[] posting = BtreeRedo.formPosting(base, 0, tids(0, 1, 0, 5, 3, 2), 3);
        assertThat(posting).hasSize(Page.maxAlign(16 + 18));
        assertThat(BtreePage.isPosting(posting, 0)).isTrue();
        assertThat(BtreePage.nPosting(posting, 0)).isEqualTo(3);
        assertThat(BtreePage.postingOffset(posting, 0)).isEqualTo(16);
        assertThat(BtreePage.tupleSize(posting, 0)).isEqualTo(posting.length);
        assertThat(Page.u32(posting, 8)).isEqualTo(42);

        byte[] newitem = plain(1, 7, 42); // falls between (0,5) and (3,2)
        byte[] nposting = BtreeRedo.swapPosting(newitem, posting, 0, 2);
        assertThat(BtreePage.tidBlock(nposting, 16 + 12)).isEqualTo(1);
        assertThat(BtreePage.tidOffset(nposting, 16 + 12)).isEqualTo(7);
        // the new item now carries the posting list's old maximum
        assertThat(BtreePage.tidBlock(newitem, 0)).isEqualTo(3);
        assertThat(BtreePage.tidOffset(newitem, 0)).isEqualTo(2);
        assertThatThrownBy(() -> BtreeRedo.swapPosting(plain(0, 2, 42), posting, 0, 3))
                .isInstanceOf(IllegalStateException.class);

        byte[] one = BtreeRedo.formPosting(base, 0, tids(9, 9), 1);
        assertThat(BtreePage.isPosting(one, 0)).isFalse();
        assertThat(BtreePage.info(one, 0) & BtreePage.INDEX_ALT_TID_MASK).isZero();
        assertThat(BtreePage.tidBlock(one, 0)).isEqualTo(9);
    }

    @Test
    void updatePostingDropsTheListedTids() {
        byte[] posting = BtreeRedo.formPosting(plain(0, 1, 7), 0, tids(0, 1, 0, 2, 0, 3), 3);
        byte[] d = {1, 0}; // delete position 1
        byte[] two = BtreeRedo.updatePosting(posting, 0, d, 0, 1);
        assertThat(BtreePage.nPosting(two, 0)).isEqualTo(2);
        assertThat(BtreePage.tidOffset(two, 16 + 6)).isEqualTo(3);
        byte[] d2 = {0, 0, 2, 0}; // positions 0 and 2: one TID left, a plain tuple again
        byte[] single = BtreeRedo.updatePosting(posting, 0, d2, 0, 2);
        assertThat(single).hasSize(16);
        assertThat(BtreePage.isPosting(single, 0)).isFalse();
        assertThat(BtreePage.tidOffset(single, 0)).isEqualTo(2);
    }

    @Test
    void deletedPageKeepsSafexidAfterTheHeader() {
        byte[] p = new byte[Page.SIZE];
        BtreePage.init(p);
        BtreePage.setFlags(p, BtreePage.BTP_HALF_DEAD | BtreePage.BTP_LEAF);
        BtreePage.setDeleted(p, 0x1_0000_0002L);
        assertThat(BtreePage.flags(p)).isEqualTo(BtreePage.BTP_LEAF | BtreePage.BTP_DELETED | BtreePage.BTP_HAS_FULLXID);
        assertThat(Page.lower(p)).isEqualTo(32);
        assertThat(Page.u32(p, 24)).isEqualTo(2);
        assertThat(Page.u32(p, 28)).isEqualTo(1);
        assertThat(BtreePage.MAX_ITEM_SIZE).isEqualTo(2704);
    }
}
