package dev.strata.pageserver.redo.page;

/**
 * The heap tuple header ({@code HeapTupleHeaderData}, access/htup_details.h) inside a page,
 * addressed by the byte position where the tuple starts:
 * <pre>
 *   t_xmin u32 @0   t_xmax u32 @4   t_cid / t_xvac u32 @8
 *   t_ctid: ip_blkid (bi_hi u16 @12, bi_lo u16 @14), ip_posid u16 @16
 *   t_infomask2 u16 @18   t_infomask u16 @20   t_hoff u8 @22   null bitmap from @23
 * </pre>
 * and the infomask bits redo and masking use.
 */
public final class HeapTuple {

    /** {@code SizeofHeapTupleHeader}: the header without the null bitmap. */
    public static final int HEADER_SIZE = 23;
    /** {@code MaxHeapTuplesPerPage}: (8192 - 24) / (MAXALIGN(23) + 4). */
    public static final int MAX_TUPLES_PER_PAGE = (Page.SIZE - Page.HEADER_SIZE)
            / (Page.maxAlign(HEADER_SIZE) + ItemId.SIZE);

    public static final int OFF_XMIN = 0;
    public static final int OFF_XMAX = 4;
    public static final int OFF_CID = 8;
    public static final int OFF_CTID_BLOCK_HI = 12;
    public static final int OFF_CTID_BLOCK_LO = 14;
    public static final int OFF_CTID_POSID = 16;
    public static final int OFF_INFOMASK2 = 18;
    public static final int OFF_INFOMASK = 20;
    public static final int OFF_HOFF = 22;

    // t_infomask
    public static final int HEAP_XMAX_KEYSHR_LOCK = 0x0010;
    public static final int HEAP_COMBOCID = 0x0020;
    public static final int HEAP_XMAX_EXCL_LOCK = 0x0040;
    public static final int HEAP_XMAX_LOCK_ONLY = 0x0080;
    public static final int HEAP_XMAX_SHR_LOCK = HEAP_XMAX_EXCL_LOCK | HEAP_XMAX_KEYSHR_LOCK;
    public static final int HEAP_LOCK_MASK = HEAP_XMAX_SHR_LOCK | HEAP_XMAX_EXCL_LOCK | HEAP_XMAX_KEYSHR_LOCK;
    public static final int HEAP_XMIN_COMMITTED = 0x0100;
    public static final int HEAP_XMIN_INVALID = 0x0200;
    public static final int HEAP_XMIN_FROZEN = HEAP_XMIN_COMMITTED | HEAP_XMIN_INVALID;
    public static final int HEAP_XMAX_COMMITTED = 0x0400;
    public static final int HEAP_XMAX_INVALID = 0x0800;
    public static final int HEAP_XMAX_IS_MULTI = 0x1000;
    public static final int HEAP_MOVED = 0x4000 | 0x8000;
    public static final int HEAP_XACT_MASK = 0xFFF0;
    public static final int HEAP_XMAX_BITS = HEAP_XMAX_COMMITTED | HEAP_XMAX_INVALID | HEAP_XMAX_IS_MULTI
            | HEAP_LOCK_MASK | HEAP_XMAX_LOCK_ONLY;
    // t_infomask2
    public static final int HEAP_KEYS_UPDATED = 0x2000;
    public static final int HEAP_HOT_UPDATED = 0x4000;
    public static final int HEAP_ONLY_TUPLE = 0x8000;

    /** {@code FirstCommandId}: redo sets every cmin/cmax to it (masking hides t_cid). */
    public static final int FIRST_COMMAND_ID = 0;
    /** {@code SpecTokenOffsetNumber}: t_ctid of a speculative insertion holds a token. */
    public static final int SPEC_TOKEN_OFFSET = 0xFFFE;
    /** {@code MovedPartitionsOffsetNumber} with block {@code InvalidBlockNumber}. */
    public static final int MOVED_PARTITIONS_OFFSET = 0xFFFD;

    private HeapTuple() {
    }

    public static int infomask(byte[] p, int t) {
        return Page.u16(p, t + OFF_INFOMASK);
    }

    public static int infomask2(byte[] p, int t) {
        return Page.u16(p, t + OFF_INFOMASK2);
    }

    public static void setInfomask(byte[] p, int t, int v) {
        Page.putU16(p, t + OFF_INFOMASK, v);
    }

    public static void setInfomask2(byte[] p, int t, int v) {
        Page.putU16(p, t + OFF_INFOMASK2, v);
    }

    public static int hoff(byte[] p, int t) {
        return p[t + OFF_HOFF] & 0xFF;
    }

    public static void setXmin(byte[] p, int t, int xid) {
        Page.putU32(p, t + OFF_XMIN, xid);
    }

    public static void setXmax(byte[] p, int t, int xid) {
        Page.putU32(p, t + OFF_XMAX, xid);
    }

    /** Writes t_cid / t_xvac (one field). */
    public static void setField3(byte[] p, int t, int v) {
        Page.putU32(p, t + OFF_CID, v);
    }

    /** {@code HeapTupleHeaderSetCmin}: t_cid, not a combo cid. */
    public static void setCmin(byte[] p, int t, int cid) {
        setField3(p, t, cid);
        setInfomask(p, t, infomask(p, t) & ~HEAP_COMBOCID);
    }

    /** {@code HeapTupleHeaderSetCmax(tup, cid, false)}. */
    public static void setCmax(byte[] p, int t, int cid) {
        setCmin(p, t, cid);
    }

    /** {@code ItemPointerSet(&t_ctid, block, posid)}. */
    public static void setCtid(byte[] p, int t, long block, int posid) {
        Page.putU16(p, t + OFF_CTID_BLOCK_HI, (int) (block >>> 16));
        Page.putU16(p, t + OFF_CTID_BLOCK_LO, (int) block);
        Page.putU16(p, t + OFF_CTID_POSID, posid);
    }

    public static int ctidPosid(byte[] p, int t) {
        return Page.u16(p, t + OFF_CTID_POSID);
    }

    /** {@code HEAP_XMAX_IS_LOCKED_ONLY(infomask)}. */
    public static boolean xmaxIsLockedOnly(int infomask) {
        return (infomask & HEAP_XMAX_LOCK_ONLY) != 0
                || (infomask & (HEAP_XMAX_IS_MULTI | HEAP_LOCK_MASK)) == HEAP_XMAX_EXCL_LOCK;
    }
}
