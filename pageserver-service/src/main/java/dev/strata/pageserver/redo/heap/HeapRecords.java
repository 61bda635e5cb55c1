package dev.strata.pageserver.redo.heap;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The main-data structs of heap and heap2 records (access/heapam_xlog.h), decoded from the
 * little-endian bytes PostgreSQL writes with C struct alignment. Decoding only: what a record
 * does to a page is in {@link HeapRedo}. A body too short for its struct throws
 * {@link IllegalArgumentException} naming it.
 */
public final class HeapRecords {

    // heap info codes (info & XLOG_HEAP_OPMASK)
    public static final int XLOG_HEAP_INSERT = 0x00;
    public static final int XLOG_HEAP_DELETE = 0x10;
    public static final int XLOG_HEAP_UPDATE = 0x20;
    public static final int XLOG_HEAP_TRUNCATE = 0x30;
    public static final int XLOG_HEAP_HOT_UPDATE = 0x40;
    public static final int XLOG_HEAP_CONFIRM = 0x50;
    public static final int XLOG_HEAP_LOCK = 0x60;
    public static final int XLOG_HEAP_INPLACE = 0x70;
    public static final int XLOG_HEAP_OPMASK = 0x70;
    public static final int XLOG_HEAP_INIT_PAGE = 0x80;
    // heap2 info codes
    public static final int XLOG_HEAP2_REWRITE = 0x00;
    public static final int XLOG_HEAP2_PRUNE_ON_ACCESS = 0x10;
    public static final int XLOG_HEAP2_PRUNE_VACUUM_SCAN = 0x20;
    public static final int XLOG_HEAP2_PRUNE_VACUUM_CLEANUP = 0x30;
    public static final int XLOG_HEAP2_VISIBLE = 0x40;
    public static final int XLOG_HEAP2_MULTI_INSERT = 0x50;
    public static final int XLOG_HEAP2_LOCK_UPDATED = 0x60;
    public static final int XLOG_HEAP2_NEW_CID = 0x70;

    // xl_heap_insert / multi_insert flags
    public static final int XLH_INSERT_ALL_VISIBLE_CLEARED = 1;
    public static final int XLH_INSERT_ALL_FROZEN_SET = 1 << 5;
    // xl_heap_update flags
    public static final int XLH_UPDATE_OLD_ALL_VISIBLE_CLEARED = 1;
    public static final int XLH_UPDATE_NEW_ALL_VISIBLE_CLEARED = 1 << 1;
    public static final int XLH_UPDATE_PREFIX_FROM_OLD = 1 << 5;
    public static final int XLH_UPDATE_SUFFIX_FROM_OLD = 1 << 6;
    // xl_heap_delete flags
    public static final int XLH_DELETE_ALL_VISIBLE_CLEARED = 1;
    public static final int XLH_DELETE_IS_SUPER = 1 << 3;
    public static final int XLH_DELETE_IS_PARTITION_MOVE = 1 << 4;
    // infobits_set (compute_infobits)
    public static final int XLHL_XMAX_IS_MULTI = 0x01;
    public static final int XLHL_XMAX_LOCK_ONLY = 0x02;
    public static final int XLHL_XMAX_EXCL_LOCK = 0x04;
    public static final int XLHL_XMAX_KEYSHR_LOCK = 0x08;
    public static final int XLHL_KEYS_UPDATED = 0x10;
    // xl_heap_prune flags
    public static final int XLHP_IS_CATALOG_REL = 1 << 1;
    public static final int XLHP_CLEANUP_LOCK = 1 << 2;
    public static final int XLHP_HAS_CONFLICT_HORIZON = 1 << 3;
    public static final int XLHP_HAS_FREEZE_PLANS = 1 << 4;
    public static final int XLHP_HAS_REDIRECTIONS = 1 << 5;
    public static final int XLHP_HAS_DEAD_ITEMS = 1 << 6;
    public static final int XLHP_HAS_NOW_UNUSED_ITEMS = 1 << 7;
    // freeze plan frzflags
    public static final int XLH_FREEZE_XVAC = 0x02;
    public static final int XLH_INVALID_XVAC = 0x04;
    // visibility map bits (VISIBILITYMAP_VALID_BITS)
    public static final int VISIBILITYMAP_VALID_BITS = 0x03;

    private HeapRecords() {
    }

    /** {@code xl_heap_insert}: offnum u16 @0, flags u8 @2. */
    public record Insert(int offnum, int flags) {
        public static Insert decode(ByteBuffer main) {
            need(main, 3, "xl_heap_insert");
            return new Insert(u16(main, 0), u8(main, 2));
        }
    }

    /** {@code xl_heap_delete}: xmax u32 @0, offnum u16 @4, infobits_set u8 @6, flags u8 @7. */
    public record Delete(int xmax, int offnum, int infobits, int flags) {
        public static Delete decode(ByteBuffer main) {
            need(main, 8, "xl_heap_delete");
            return new Delete(main.getInt(0), u16(main, 4), u8(main, 6), u8(main, 7));
        }
    }

    /**
     * {@code xl_heap_update}: old_xmax u32 @0, old_offnum u16 @4, old_infobits_set u8 @6,
     * flags u8 @7, new_xmax u32 @8, new_offnum u16 @12.
     */
    public record Update(int oldXmax, int oldOffnum, int oldInfobits, int flags, int newXmax, int newOffnum) {
        public static Update decode(ByteBuffer main) {
            need(main, 14, "xl_heap_update");
            return new Update(main.getInt(0), u16(main, 4), u8(main, 6), u8(main, 7), main.getInt(8), u16(main, 12));
        }
    }

    /**
     * {@code xl_heap_lock} and {@code xl_heap_lock_updated} (same layout): xmax u32 @0,
     * offnum u16 @4, infobits_set u8 @6, flags u8 @7.
     */
    public record Lock(int xmax, int offnum, int infobits, int flags) {
        public static Lock decode(ByteBuffer main) {
            need(main, 8, "xl_heap_lock");
            return new Lock(main.getInt(0), u16(main, 4), u8(main, 6), u8(main, 7));
        }
    }

    /** {@code xl_heap_confirm} and {@code xl_heap_inplace} (PG 17.6): offnum u16 @0. */
    public static int offnum(ByteBuffer main, String struct) {
        need(main, 2, struct);
        return u16(main, 0);
    }

    /** {@code xl_heap_multi_insert}: flags u8 @0, ntuples u16 @2, offsets u16[ntuples] @4 (absent with INIT_PAGE). */
    public record MultiInsert(int flags, int ntuples, int[] offsets) {
        public static MultiInsert decode(ByteBuffer main, boolean init) {
            need(main, 4, "xl_heap_multi_insert");
            int n = u16(main, 2);
            int[] offsets = null;
            if (!init) {
                need(main, 4 + 2 * n, "xl_heap_multi_insert offsets");
                offsets = new int[n];
                for (int i = 0; i < n; i++) {
                    offsets[i] = u16(main, 4 + 2 * i);
                }
            }
            return new MultiInsert(u8(main, 0), n, offsets);
        }
    }

    /** {@code xl_heap_visible}: snapshotConflictHorizon u32 @0, flags u8 @4. */
    public record Visible(int conflictHorizon, int flags) {
        public static Visible decode(ByteBuffer main) {
            need(main, 5, "xl_heap_visible");
            return new Visible(main.getInt(0), u8(main, 4));
        }
    }

    /** {@code xl_heap_prune}: reason u8 @0, flags u8 @1 (then an unaligned conflict horizon if flagged). */
    public record Prune(int reason, int flags) {
        public static Prune decode(ByteBuffer main) {
            need(main, 2, "xl_heap_prune");
            return new Prune(u8(main, 0), u8(main, 1));
        }

        public boolean cleanupLock() {
            return (flags & XLHP_CLEANUP_LOCK) != 0;
        }
    }

    /** {@code xlhp_freeze_plan}: xmax u32 @0, t_infomask2 u16 @4, t_infomask u16 @6, frzflags u8 @8, ntuples u16 @10; 12 bytes. */
    public record FreezePlan(int xmax, int infomask2, int infomask, int frzflags, int ntuples) {
    }

    /**
     * Block 0's data of a prune record ({@code heap_xlog_deserialize_prune_and_freeze}), in
     * this order, each present only with its flag: freeze plans ({@code xlhp_freeze_plans}:
     * nplans u16, 2 bytes of padding, the plans), redirections ({@code xlhp_prune_items}:
     * ntargets u16 then pairs of offsets), dead items, now-unused items (ntargets u16 then
     * offsets), and finally the offsets of the frozen tuples, plan after plan.
     */
    public record PruneData(FreezePlan[] plans, int[] redirected, int[] nowDead, int[] nowUnused, int[] frozenOffsets) {
        public static PruneData decode(ByteBuffer data, int flags) {
            ByteBuffer b = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            try {
                FreezePlan[] plans = new FreezePlan[0];
                int frozen = 0;
                if ((flags & XLHP_HAS_FREEZE_PLANS) != 0) {
                    int n = b.getShort() & 0xFFFF;
                    b.getShort(); // padding: plans[] is 4-byte aligned (xmax)
                    plans = new FreezePlan[n];
                    for (int i = 0; i < n; i++) {
                        int xmax = b.getInt();
                        int im2 = b.getShort() & 0xFFFF;
                        int im = b.getShort() & 0xFFFF;
                        int frz = b.get() & 0xFF;
                        b.get(); // padding before ntuples
                        int nt = b.getShort() & 0xFFFF;
                        plans[i] = new FreezePlan(xmax, im2, im, frz, nt);
                        frozen += nt;
                    }
                }
                int[] redirected = (flags & XLHP_HAS_REDIRECTIONS) != 0 ? offsets(b, 2) : new int[0];
                int[] dead = (flags & XLHP_HAS_DEAD_ITEMS) != 0 ? offsets(b, 1) : new int[0];
                int[] unused = (flags & XLHP_HAS_NOW_UNUSED_ITEMS) != 0 ? offsets(b, 1) : new int[0];
                int[] frozenOffsets = new int[frozen];
                for (int i = 0; i < frozen; i++) {
                    frozenOffsets[i] = b.getShort() & 0xFFFF;
                }
                if (b.hasRemaining()) {
                    throw new IllegalArgumentException("prune block data: " + b.remaining() + " bytes left over");
                }
                return new PruneData(plans, redirected, dead, unused, frozenOffsets);
            } catch (BufferUnderflowException e) {
                throw new IllegalArgumentException("prune block data of " + data.remaining() + " bytes is truncated");
            }
        }

        private static int[] offsets(ByteBuffer b, int perTarget) {
            int n = b.getShort() & 0xFFFF;
            int[] out = new int[n * perTarget];
            for (int i = 0; i < out.length; i++) {
                out[i] = b.getShort() & 0xFFFF;
            }
            return out;
        }
    }

    /** {@code xl_heap_header}: t_infomask2 u16 @0, t_infomask u16 @2, t_hoff u8 @4; 5 bytes. */
    public static final int SIZE_OF_HEAP_HEADER = 5;
    /** {@code xl_multi_insert_tuple}: datalen u16 @0, t_infomask2 u16 @2, t_infomask u16 @4, t_hoff u8 @6; 7 bytes, SHORTALIGNed. */
    public static final int SIZE_OF_MULTI_INSERT_TUPLE = 7;

    static int u8(ByteBuffer b, int at) {
        return b.get(at) & 0xFF;
    }

    static int u16(ByteBuffer b, int at) {
        return b.getShort(at) & 0xFFFF;
    }

    static int u16(byte[] b, int at) {
        return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8;
    }

    private static void need(ByteBuffer b, int n, String struct) {
        if (b.remaining() < n) {
            throw new IllegalArgumentException(struct + " needs " + n + " bytes of main data, record has " + b.remaining());
        }
    }
}
