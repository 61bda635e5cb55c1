package dev.strata.pageserver.redo.btree;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The main-data structs of btree records (access/nbtxlog.h), decoded from the little-endian
 * bytes PostgreSQL writes with C struct alignment. Decoding only: what a record does to a
 * page is in {@link BtreeRedo}. A body too short for its struct throws
 * {@link IllegalArgumentException} naming it.
 */
public final class BtreeRecords {

    public static final int XLOG_BTREE_INSERT_LEAF = 0x00;
    public static final int XLOG_BTREE_INSERT_UPPER = 0x10;
    public static final int XLOG_BTREE_INSERT_META = 0x20;
    public static final int XLOG_BTREE_SPLIT_L = 0x30;
    public static final int XLOG_BTREE_SPLIT_R = 0x40;
    public static final int XLOG_BTREE_INSERT_POST = 0x50;
    public static final int XLOG_BTREE_DEDUP = 0x60;
    public static final int XLOG_BTREE_DELETE = 0x70;
    public static final int XLOG_BTREE_UNLINK_PAGE = 0x80;
    public static final int XLOG_BTREE_UNLINK_PAGE_META = 0x90;
    public static final int XLOG_BTREE_NEWROOT = 0xA0;
    public static final int XLOG_BTREE_MARK_PAGE_HALFDEAD = 0xB0;
    public static final int XLOG_BTREE_VACUUM = 0xC0;
    public static final int XLOG_BTREE_REUSE_PAGE = 0xD0;
    public static final int XLOG_BTREE_META_CLEANUP = 0xE0;

    private BtreeRecords() {
    }

    /**
     * {@code xl_btree_metadata} (block data of the metapage): version @0, root @4, level @8,
     * fastroot @12, fastlevel @16, last_cleanup_num_delpages @20, allequalimage (bool) @24.
     */
    public record Metadata(int version, int root, int level, int fastroot, int fastlevel, int lastCleanupNumDelpages,
                           boolean allequalimage) {
        public static Metadata decode(ByteBuffer b) {
            need(b, 25, "xl_btree_metadata");
            return new Metadata(u32(b, 0), u32(b, 4), u32(b, 8), u32(b, 12), u32(b, 16), u32(b, 20), b.get(24) != 0);
        }
    }

    /** {@code xl_btree_insert}: offnum u16 @0. */
    public static int insertOffnum(ByteBuffer main) {
        need(main, 2, "xl_btree_insert");
        return u16(main, 0);
    }

    /** {@code xl_btree_split}: level u32 @0, firstrightoff u16 @4, newitemoff u16 @6, postingoff u16 @8. */
    public record Split(int level, int firstrightoff, int newitemoff, int postingoff) {
        public static Split decode(ByteBuffer b) {
            need(b, 10, "xl_btree_split");
            return new Split(u32(b, 0), u16(b, 4), u16(b, 6), u16(b, 8));
        }
    }

    /** {@code xl_btree_dedup}: nintervals u16 @0 (the intervals are block 0's data). */
    public static int dedupIntervals(ByteBuffer main) {
        need(main, 2, "xl_btree_dedup");
        return u16(main, 0);
    }

    /**
     * {@code xl_btree_vacuum} (ndeleted u16 @0, nupdated u16 @2) and {@code xl_btree_delete}
     * (snapshotConflictHorizon u32 @0, ndeleted u16 @4, nupdated u16 @6, isCatalogRel @8): the
     * two counts, which is all redo needs.
     */
    public record Counts(int ndeleted, int nupdated) {
        public static Counts vacuum(ByteBuffer b) {
            need(b, 4, "xl_btree_vacuum");
            return new Counts(u16(b, 0), u16(b, 2));
        }

        public static Counts delete(ByteBuffer b) {
            need(b, 9, "xl_btree_delete");
            return new Counts(u16(b, 4), u16(b, 6));
        }
    }

    /**
     * {@code xl_btree_mark_page_halfdead}: poffset u16 @0, leafblk @4, leftblk @8, rightblk @12,
     * topparent @16.
     */
    public record MarkHalfDead(int poffset, int leafblk, int leftblk, int rightblk, int topparent) {
        public static MarkHalfDead decode(ByteBuffer b) {
            need(b, 20, "xl_btree_mark_page_halfdead");
            return new MarkHalfDead(u16(b, 0), u32(b, 4), u32(b, 8), u32(b, 12), u32(b, 16));
        }
    }

    /**
     * {@code xl_btree_unlink_page}: leftsib @0, rightsib @4, level @8, safexid (FullTransactionId,
     * 8-aligned) @16, leafleftsib @24, leafrightsib @28, leaftopparent @32.
     */
    public record Unlink(int leftsib, int rightsib, int level, long safexid, int leafleftsib, int leafrightsib,
                         int leaftopparent) {
        public static Unlink decode(ByteBuffer b) {
            need(b, 36, "xl_btree_unlink_page");
            return new Unlink(u32(b, 0), u32(b, 4), u32(b, 8), b.order(ByteOrder.LITTLE_ENDIAN).getLong(16),
                    u32(b, 24), u32(b, 28), u32(b, 32));
        }
    }

    /** {@code xl_btree_newroot}: rootblk @0, level @4. */
    public record NewRoot(int rootblk, int level) {
        public static NewRoot decode(ByteBuffer b) {
            need(b, 8, "xl_btree_newroot");
            return new NewRoot(u32(b, 0), u32(b, 4));
        }
    }

    static void need(ByteBuffer b, int len, String what) {
        if (b.remaining() < len) {
            throw new IllegalArgumentException(what + " needs " + len + " bytes, record has " + b.remaining());
        }
    }

    static int u16(ByteBuffer b, int off) {
        return b.order(ByteOrder.LITTLE_ENDIAN).getShort(b.position() + off) & 0xFFFF;
    }

    static int u32(ByteBuffer b, int off) {
        return b.order(ByteOrder.LITTLE_ENDIAN).getInt(b.position() + off);
    }
}
