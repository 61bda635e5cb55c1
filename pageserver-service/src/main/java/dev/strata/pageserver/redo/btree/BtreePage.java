package dev.strata.pageserver.redo.btree;

import dev.strata.pageserver.redo.page.ItemId;
import dev.strata.pageserver.redo.page.Page;
import dev.strata.pageserver.redo.page.PageMasks;

/**
 * The btree page as nbtree.h lays it out, for redo: the special space
 * ({@code BTPageOpaqueData}, 16 bytes at pd_special: btpo_prev u32 @0, btpo_next u32 @4,
 * btpo_level u32 @8, btpo_flags u16 @12, btpo_cycleid u16 @14), the metapage
 * ({@code BTMetaPageData} right after the page header), the deleted page's safexid, the
 * index tuple header ({@code IndexTupleData}: t_tid 6 bytes, t_info u16 @6) and the btree
 * uses of t_tid (downlinks, pivot attribute counts, posting lists). Static helpers over the
 * 8 KiB little-endian page array; an index tuple is addressed by its byte position.
 */
public final class BtreePage {

    public static final int BTP_LEAF = 1;
    public static final int BTP_ROOT = 1 << 1;
    public static final int BTP_DELETED = 1 << 2;
    public static final int BTP_META = 1 << 3;
    public static final int BTP_HALF_DEAD = 1 << 4;
    public static final int BTP_SPLIT_END = 1 << 5;
    public static final int BTP_HAS_GARBAGE = 1 << 6;
    public static final int BTP_INCOMPLETE_SPLIT = 1 << 7;
    public static final int BTP_HAS_FULLXID = 1 << 8;

    /** {@code sizeof(BTPageOpaqueData)}. */
    public static final int OPAQUE_SIZE = 16;
    /** {@code P_NONE}: no sibling. */
    public static final int P_NONE = 0;
    public static final int P_HIKEY = 1;
    public static final int P_FIRSTKEY = 2;
    public static final int BTREE_MAGIC = 0x053162;
    /** pd_lower of a metapage: the header plus {@code sizeof(BTMetaPageData)} (48). */
    public static final int META_END = Page.HEADER_SIZE + 48;

    // IndexTupleData t_info bits
    public static final int INDEX_SIZE_MASK = 0x1FFF;
    public static final int INDEX_ALT_TID_MASK = 0x2000;
    public static final int INDEX_TUPLE_HEADER = 8;
    // btree t_tid offset-number bits when INDEX_ALT_TID_MASK is set
    public static final int BT_OFFSET_MASK = 0x0FFF;
    public static final int BT_IS_POSTING = 0x2000;
    /** {@code sizeof(ItemPointerData)}. */
    public static final int TID_SIZE = 6;
    /**
     * {@code BTMaxItemSize} for 8 KiB pages: MAXALIGN_DOWN((8192 - MAXALIGN(24 + 3 * 4) - 16) / 3)
     * minus MAXALIGN(sizeof(ItemPointerData)).
     */
    public static final int MAX_ITEM_SIZE = ((8192 - 40 - 16) / 3 & ~7) - 8;

    private BtreePage() {
    }

    // ------------------------------------------------------------ opaque

    public static int opaque(byte[] p) {
        return Page.special(p);
    }

    public static int prev(byte[] p) {
        return Page.u32(p, opaque(p));
    }

    public static int next(byte[] p) {
        return Page.u32(p, opaque(p) + 4);
    }

    public static int flags(byte[] p) {
        return Page.u16(p, opaque(p) + 12);
    }

    public static void setPrev(byte[] p, int blk) {
        Page.putU32(p, opaque(p), blk);
    }

    public static void setNext(byte[] p, int blk) {
        Page.putU32(p, opaque(p) + 4, blk);
    }

    public static void setLevel(byte[] p, int level) {
        Page.putU32(p, opaque(p) + 8, level);
    }

    public static void setFlags(byte[] p, int flags) {
        Page.putU16(p, opaque(p) + 12, flags);
    }

    public static void setCycleId(byte[] p, int cycleId) {
        Page.putU16(p, opaque(p) + 14, cycleId);
    }

    public static boolean isLeaf(byte[] p) {
        return (flags(p) & BTP_LEAF) != 0;
    }

    /** {@code P_RIGHTMOST}: no right sibling. */
    public static boolean isRightmost(byte[] p) {
        return next(p) == P_NONE;
    }

    /** {@code P_FIRSTDATAKEY}: the rightmost page has no high key. */
    public static int firstDataKey(byte[] p) {
        return isRightmost(p) ? P_HIKEY : P_FIRSTKEY;
    }

    /** {@code _bt_pageinit}: {@code PageInit} with the btree special space, all zero. */
    public static void init(byte[] p) {
        Page.init(p, OPAQUE_SIZE);
    }

    /**
     * {@code BTPageSetDeleted}: drops HALF_DEAD, sets DELETED and HAS_FULLXID, and stores the
     * 64-bit safexid ({@code BTDeletedPageData}) right after the header; pd_lower follows it
     * and pd_upper goes to pd_special.
     */
    public static void setDeleted(byte[] p, long safexid) {
        setFlags(p, (flags(p) & ~BTP_HALF_DEAD) | BTP_DELETED | BTP_HAS_FULLXID);
        Page.setLower(p, Page.HEADER_SIZE + 8);
        Page.setUpper(p, Page.special(p));
        Page.putU32(p, Page.HEADER_SIZE, (int) safexid);
        Page.putU32(p, Page.HEADER_SIZE + 4, (int) (safexid >>> 32));
    }

    // ------------------------------------------------------------ index tuples

    /** {@code IndexTupleSize}: t_info's size bits. */
    public static int tupleSize(byte[] b, int t) {
        return Page.u16(b, t + 6) & INDEX_SIZE_MASK;
    }

    public static int info(byte[] b, int t) {
        return Page.u16(b, t + 6);
    }

    public static void setInfo(byte[] b, int t, int info) {
        Page.putU16(b, t + 6, info);
    }

    /** {@code ItemPointerGetBlockNumberNoCheck}: bi_hi, bi_lo. */
    public static int tidBlock(byte[] b, int tid) {
        return Page.u16(b, tid) << 16 | Page.u16(b, tid + 2);
    }

    public static void setTidBlock(byte[] b, int tid, int blk) {
        Page.putU16(b, tid, blk >>> 16);
        Page.putU16(b, tid + 2, blk & 0xFFFF);
    }

    public static int tidOffset(byte[] b, int tid) {
        return Page.u16(b, tid + 4);
    }

    public static void setTidOffset(byte[] b, int tid, int off) {
        Page.putU16(b, tid + 4, off);
    }

    /** {@code BTreeTupleIsPosting}: ALT_TID set and the BT_IS_POSTING bit in the offset. */
    public static boolean isPosting(byte[] b, int t) {
        return (info(b, t) & INDEX_ALT_TID_MASK) != 0 && (tidOffset(b, t) & BT_IS_POSTING) != 0;
    }

    /** {@code BTreeTupleIsPivot}: ALT_TID set and not a posting list. */
    public static boolean isPivot(byte[] b, int t) {
        return (info(b, t) & INDEX_ALT_TID_MASK) != 0 && (tidOffset(b, t) & BT_IS_POSTING) == 0;
    }

    /** {@code BTreeTupleGetNPosting}. */
    public static int nPosting(byte[] b, int t) {
        return tidOffset(b, t) & BT_OFFSET_MASK;
    }

    /** {@code BTreeTupleGetPostingOffset}: where the TIDs start, from the tuple's start. */
    public static int postingOffset(byte[] b, int t) {
        return tidBlock(b, t);
    }

    /** {@code BTreeTupleSetPosting}. */
    public static void setPosting(byte[] b, int t, int nhtids, int postingOffset) {
        setInfo(b, t, info(b, t) | INDEX_ALT_TID_MASK);
        setTidOffset(b, t, nhtids | BT_IS_POSTING);
        setTidBlock(b, t, postingOffset);
    }

    /**
     * A copy of the tuple at {@code t} (its {@code IndexTupleSize} bytes), or throws if the
     * size runs past the page.
     */
    public static byte[] copyTuple(byte[] b, int t) {
        int size = tupleSize(b, t);
        if (size < INDEX_TUPLE_HEADER || t + size > b.length) {
            throw new IllegalStateException("index tuple of " + size + " bytes at " + t);
        }
        byte[] out = new byte[size];
        System.arraycopy(b, t, out, 0, size);
        return out;
    }

    /** Byte position of the tuple of line pointer {@code offnum}, checked to lie on the page. */
    public static int item(byte[] p, int offnum) {
        if (offnum < 1 || offnum > Page.maxOffset(p)) {
            throw new IllegalStateException("no line pointer " + offnum + " (page has " + Page.maxOffset(p) + ")");
        }
        int off = ItemId.offset(p, offnum);
        if (off < Page.HEADER_SIZE || off + INDEX_TUPLE_HEADER > Page.SIZE) {
            throw new IllegalStateException("line pointer " + offnum + " points at " + off);
        }
        return off;
    }

    // ------------------------------------------------------------ mask

    /**
     * {@code btree_mask} (nbtxlog.c): pd_lsn and checksum, the page hint bits, the unused
     * space; on leaf pages the flags of every used line pointer (LP_DEAD is set without WAL by
     * {@code _bt_killitems}); BTP_HAS_GARBAGE and BTP_SPLIT_END, and the cycle id (redo of a
     * split does not set them).
     */
    public static void mask(byte[] p, long blkno) {
        PageMasks.lsnAndChecksum(p);
        PageMasks.hintBits(p);
        PageMasks.unusedSpace(p);
        if (isLeaf(p)) {
            PageMasks.lpFlags(p);
        }
        setFlags(p, flags(p) & ~(BTP_HAS_GARBAGE | BTP_SPLIT_END));
        setCycleId(p, 0);
    }
}
