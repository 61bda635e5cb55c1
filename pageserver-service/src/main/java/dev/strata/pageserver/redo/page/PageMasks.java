package dev.strata.pageserver.redo.page;

import java.util.Arrays;

/**
 * What PostgreSQL 17 leaves out when it compares a replayed page with the image a record
 * carries ({@code verifyBackupPageConsistency} calls the resource manager's {@code rm_mask} on
 * both): access/common/bufmask.c and {@code heap_mask} (access/heap/heapam.c). Each masks in
 * place; {@code MASK_MARKER} is 0.
 */
public final class PageMasks {

    private PageMasks() {
    }

    /** {@code mask_page_lsn_and_checksum}. */
    public static void lsnAndChecksum(byte[] p) {
        Arrays.fill(p, 0, 8, (byte) 0);
        Page.putU16(p, Page.OFF_CHECKSUM, 0);
    }

    /**
     * {@code mask_page_hint_bits}: pd_prune_xid and the PD_PAGE_FULL, PD_HAS_FREE_LINES and
     * PD_ALL_VISIBLE flags are hints that change without WAL.
     */
    public static void hintBits(byte[] p) {
        Page.putU32(p, Page.OFF_PRUNE_XID, 0);
        Page.setFlag(p, Page.PD_PAGE_FULL | Page.PD_HAS_FREE_LINES | Page.PD_ALL_VISIBLE, false);
    }

    /**
     * {@code mask_unused_space}: pd_lower..pd_upper. PostgreSQL raises an ERROR on insane
     * pointers; so does this (the caller counts it as a mismatch).
     */
    public static void unusedSpace(byte[] p) {
        int lower = Page.lower(p);
        int upper = Page.upper(p);
        int special = Page.special(p);
        if (lower > upper || special < upper || lower < Page.HEADER_SIZE || special > Page.SIZE) {
            throw new IllegalStateException("invalid page pd_lower " + lower + " pd_upper " + upper
                    + " pd_special " + special);
        }
        Arrays.fill(p, lower, upper, (byte) 0);
    }

    /**
     * {@code heap_mask}, used for every block of heap and heap2 records (the visibility-map
     * pages of HEAP2_VISIBLE too, where pd_lower..pd_upper covers the whole bitmap: PostgreSQL
     * effectively does not compare VM pages).
     *
     * <p>Per normal tuple: the visibility hint bits (all of HEAP_XACT_MASK unless xmin is
     * frozen, else just the xmax hints), t_cid, and t_ctid of a speculative insertion (set to
     * its own TID); per item with storage: the padding up to MAXALIGN.
     */
    public static void heap(byte[] p, long blkno) {
        lsnAndChecksum(p);
        hintBits(p);
        unusedSpace(p);
        int max = Page.maxOffset(p);
        for (int off = 1; off <= max; off++) {
            int itemOff = ItemId.offset(p, off);
            if (ItemId.isNormal(p, off)) {
                int infomask = HeapTuple.infomask(p, itemOff);
                if ((infomask & HeapTuple.HEAP_XMIN_FROZEN) != HeapTuple.HEAP_XMIN_FROZEN) {
                    infomask &= ~HeapTuple.HEAP_XACT_MASK;
                } else {
                    infomask &= ~(HeapTuple.HEAP_XMAX_INVALID | HeapTuple.HEAP_XMAX_COMMITTED);
                }
                HeapTuple.setInfomask(p, itemOff, infomask);
                HeapTuple.setField3(p, itemOff, 0);
                if (HeapTuple.ctidPosid(p, itemOff) == HeapTuple.SPEC_TOKEN_OFFSET) {
                    HeapTuple.setCtid(p, itemOff, blkno, off);
                }
            }
            if (ItemId.hasStorage(p, off)) {
                int len = ItemId.length(p, off);
                int pad = Page.maxAlign(len) - len;
                if (pad > 0) {
                    Arrays.fill(p, itemOff + len, itemOff + len + pad, (byte) 0);
                }
            }
        }
    }

    /** {@code mask_lp_flags}: every used line pointer's flags become LP_UNUSED (offset and length stay). */
    public static void lpFlags(byte[] p) {
        int max = Page.maxOffset(p);
        for (int off = 1; off <= max; off++) {
            if (ItemId.isUsed(p, off)) {
                ItemId.set(p, off, ItemId.offset(p, off), ItemId.LP_UNUSED, ItemId.length(p, off));
            }
        }
    }
}
