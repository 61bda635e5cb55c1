package dev.strata.pageserver.redo.heap;

import dev.strata.pageserver.redo.page.HeapTuple;
import dev.strata.pageserver.redo.page.ItemId;
import dev.strata.pageserver.redo.page.Page;

/** Tuple-level steps shared by the heap and heap2 routines (heapam.c's static helpers). */
final class HeapPageOps {

    /** {@code MovedPartitionsBlockNumber}: InvalidBlockNumber. */
    static final long INVALID_BLOCK = 0xFFFFFFFFL;

    private HeapPageOps() {
    }

    /**
     * The byte position of the normal tuple at {@code offnum}; throws where redo says
     * "invalid lp" (PANIC): beyond the line pointer array or not LP_NORMAL.
     */
    static int normalTuple(byte[] page, int offnum) {
        if (offnum < 1 || offnum > Page.maxOffset(page) || !ItemId.isNormal(page, offnum)) {
            throw new IllegalStateException("invalid lp " + offnum + " (max " + Page.maxOffset(page) + ")");
        }
        return ItemId.offset(page, offnum);
    }

    /** {@code fix_infomask_from_infobits}: the xmax lock bits and KEYS_UPDATED from a record's infobits. */
    static void fixInfomaskFromInfobits(byte[] page, int t, int infobits) {
        int im = HeapTuple.infomask(page, t) & ~(HeapTuple.HEAP_XMAX_IS_MULTI | HeapTuple.HEAP_XMAX_LOCK_ONLY
                | HeapTuple.HEAP_XMAX_KEYSHR_LOCK | HeapTuple.HEAP_XMAX_EXCL_LOCK);
        int im2 = HeapTuple.infomask2(page, t) & ~HeapTuple.HEAP_KEYS_UPDATED;
        if ((infobits & HeapRecords.XLHL_XMAX_IS_MULTI) != 0) {
            im |= HeapTuple.HEAP_XMAX_IS_MULTI;
        }
        if ((infobits & HeapRecords.XLHL_XMAX_LOCK_ONLY) != 0) {
            im |= HeapTuple.HEAP_XMAX_LOCK_ONLY;
        }
        if ((infobits & HeapRecords.XLHL_XMAX_EXCL_LOCK) != 0) {
            im |= HeapTuple.HEAP_XMAX_EXCL_LOCK;
        }
        if ((infobits & HeapRecords.XLHL_XMAX_KEYSHR_LOCK) != 0) {
            im |= HeapTuple.HEAP_XMAX_KEYSHR_LOCK;
        }
        if ((infobits & HeapRecords.XLHL_KEYS_UPDATED) != 0) {
            im2 |= HeapTuple.HEAP_KEYS_UPDATED;
        }
        HeapTuple.setInfomask(page, t, im);
        HeapTuple.setInfomask2(page, t, im2);
    }

    /** The first step of delete, update and lock redo: xmax bits and HEAP_MOVED off, KEYS_UPDATED off. */
    static void clearXmaxBits(byte[] page, int t) {
        HeapTuple.setInfomask(page, t, HeapTuple.infomask(page, t) & ~(HeapTuple.HEAP_XMAX_BITS | HeapTuple.HEAP_MOVED));
        HeapTuple.setInfomask2(page, t, HeapTuple.infomask2(page, t) & ~HeapTuple.HEAP_KEYS_UPDATED);
    }

    static void setHotUpdated(byte[] page, int t, boolean on) {
        int im2 = HeapTuple.infomask2(page, t);
        HeapTuple.setInfomask2(page, t, on ? im2 | HeapTuple.HEAP_HOT_UPDATED : im2 & ~HeapTuple.HEAP_HOT_UPDATED);
    }

    /**
     * Builds a tuple as heap redo does: a zeroed 23-byte header with infomask2, infomask and
     * t_hoff from the record, the body after it, xmin the record's xid, cmin FirstCommandId.
     * Returns the tuple buffer sized to {@code 23 + bodyLength}; the caller fills the body at
     * {@link HeapTuple#HEADER_SIZE} and sets xmax and ctid.
     */
    static byte[] newTuple(int bodyLength, int infomask2, int infomask, int hoff, int xid) {
        byte[] t = new byte[HeapTuple.HEADER_SIZE + bodyLength];
        HeapTuple.setInfomask2(t, 0, infomask2);
        HeapTuple.setInfomask(t, 0, infomask);
        t[HeapTuple.OFF_HOFF] = (byte) hoff;
        HeapTuple.setXmin(t, 0, xid);
        HeapTuple.setCmin(t, 0, HeapTuple.FIRST_COMMAND_ID);
        return t;
    }

    /** Redo's "invalid max offset number" check before placing a tuple at {@code offnum}. */
    static void checkInsertOffset(byte[] page, int offnum) {
        if (Page.maxOffset(page) + 1 < offnum) {
            throw new IllegalStateException("invalid max offset number: inserting at " + offnum + " with max "
                    + Page.maxOffset(page));
        }
    }
}
