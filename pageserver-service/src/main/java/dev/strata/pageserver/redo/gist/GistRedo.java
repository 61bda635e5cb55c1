package dev.strata.pageserver.redo.gist;

import dev.strata.pageserver.redo.RmgrRedo;
import dev.strata.pageserver.redo.page.Page;
import dev.strata.pageserver.redo.page.PageMasks;
import dev.strata.pgcore.wal.BlockReference;
import dev.strata.pgcore.wal.DecodedRecord;
import java.util.Arrays;

/**
 * {@code gist_redo} (resource manager 14, access/gist/gistxlog.c, PostgreSQL 17.6), every record
 * type, one block at a time. The blocks per type (gistxlog.h):
 * <ul>
 * <li>PAGE_UPDATE: 0 the page, tuples deleted ({@code ntodelete} offsets, block data) and
 * inserted (the tuples after them), or one tuple overwritten in place when one replaces one;
 * 1 (optional) the left half of a split whose downlink this inserts: its NSN becomes the
 * record's LSN and F_FOLLOW_RIGHT is cleared;</li>
 * <li>DELETE: 0 the leaf whose dead tuples go (offsets in main data);</li>
 * <li>PAGE_SPLIT: 0 (optional) the left child, as PAGE_UPDATE's block 1; 1..npage the pages of
 * the split, each rebuilt from its tuples (block data: an int count, then the tuples), linked
 * to the next, the last to the original right link;</li>
 * <li>PAGE_DELETE: 0 the deleted leaf (F_DELETED, the delete xid as its contents); 1 the
 * parent, whose downlink goes;</li>
 * <li>PAGE_REUSE and ASSIGN_LSN register no page.</li>
 * </ul>
 * <p>The left-child change is not in the image the record carries (PostgreSQL makes it after
 * XLogInsert, so redo makes it even when it restores a full-page write): {@link #appliesOnImage}
 * says so, and ingest applies it to the stored image.
 *
 * <p>Layout (gist.h): the special space is GISTPageOpaqueData (NSN as two uint32, high word
 * first; rightlink; flags; page id: 16 bytes).
 */
public final class GistRedo implements RmgrRedo {

    /** PostgreSQL's name for this redo, in errors. */
    private static final String ROUTINE = "gist_redo";

    public static final int XLOG_GIST_PAGE_UPDATE = 0x00;
    public static final int XLOG_GIST_DELETE = 0x10;
    public static final int XLOG_GIST_PAGE_REUSE = 0x20;
    public static final int XLOG_GIST_PAGE_SPLIT = 0x30;
    public static final int XLOG_GIST_PAGE_DELETE = 0x60;
    public static final int XLOG_GIST_ASSIGN_LSN = 0x70;

    public static final int F_LEAF = 1;
    public static final int F_DELETED = 1 << 1;
    public static final int F_TUPLES_DELETED = 1 << 2;
    public static final int F_FOLLOW_RIGHT = 1 << 3;
    public static final int F_HAS_GARBAGE = 1 << 4;
    public static final int GIST_PAGE_ID = 0xFF81;

    static final int SPECIAL_SIZE = 16;
    private static final int OPAQUE_NSN = 0;
    private static final int OPAQUE_RIGHTLINK = 8;
    private static final int OPAQUE_FLAGS = 12;
    private static final int OPAQUE_PAGE_ID = 14;
    private static final int INVALID_BLOCK = 0xFFFFFFFF;
    private static final int ROOT_BLKNO = 0;

    @Override
    public boolean handles(DecodedRecord record) {
        int info = record.info() & 0xF0;
        return info == XLOG_GIST_PAGE_UPDATE || info == XLOG_GIST_DELETE || info == XLOG_GIST_PAGE_REUSE
                || info == XLOG_GIST_PAGE_SPLIT || info == XLOG_GIST_PAGE_DELETE || info == XLOG_GIST_ASSIGN_LSN;
    }

    /**
     * True for the left child of PAGE_UPDATE (block 1) and PAGE_SPLIT (block 0):
     * {@code gistRedoClearFollowRight} sets its NSN and clears F_FOLLOW_RIGHT also after
     * restoring a full-page image, which PostgreSQL took before making that change.
     */
    @Override
    public boolean appliesOnImage(DecodedRecord r, BlockReference b) {
        int info = r.info() & 0xF0;
        return (info == XLOG_GIST_PAGE_UPDATE && b.id() == 1) || (info == XLOG_GIST_PAGE_SPLIT && b.id() == 0);
    }

    @Override
    public void redo(DecodedRecord r, BlockReference b, byte[] page) {
        int info = r.info() & 0xF0;
        switch (info) {
            case XLOG_GIST_PAGE_UPDATE -> {
                if (b.id() == 1) {
                    clearFollowRight(r, page);
                } else {
                    RmgrRedo.requireBlock(ROUTINE, r, b, 0);
                    pageUpdate(r, b, page);
                }
            }
            case XLOG_GIST_DELETE -> {
                RmgrRedo.requireBlock(ROUTINE, r, b, 0);
                // gistxlogDelete: snapshotConflictHorizon, ntodelete (uint16), isCatalogRel, offsets from byte 8
                byte[] main = r.mainData();
                int n = Page.u16(main, 4);
                int[] offsets = new int[n];
                for (int i = 0; i < n; i++) {
                    offsets[i] = Page.u16(main, 8 + 2 * i);
                }
                Page.indexMultiDelete(page, offsets, n);
                setFlags(page, (flags(page) & ~F_HAS_GARBAGE) | F_TUPLES_DELETED);
            }
            case XLOG_GIST_PAGE_SPLIT -> {
                if (b.id() == 0) {
                    clearFollowRight(r, page);
                } else {
                    splitPage(r, b, page);
                }
            }
            case XLOG_GIST_PAGE_DELETE -> {
                // gistxlogPageDelete: deleteXid (FullTransactionId), downlinkOffset (uint16)
                byte[] main = r.mainData();
                if (b.id() == 0) {
                    setFlags(page, flags(page) | F_DELETED);
                    Page.setLower(page, Page.HEADER_SIZE + 8);
                    System.arraycopy(main, 0, page, Page.HEADER_SIZE, 8);
                } else {
                    RmgrRedo.requireBlock(ROUTINE, r, b, 1);
                    Page.indexTupleDelete(page, Page.u16(main, 8));
                }
            }
            default -> throw new IllegalStateException("gist_redo: " + r.recordTypeName() + " registers no block "
                    + b.id());
        }
    }

    /** {@code gistRedoPageUpdateRecord}, block 0; gistxlogPageUpdate: ntodelete, ntoinsert (uint16). */
    private static void pageUpdate(DecodedRecord r, BlockReference b, byte[] page) {
        byte[] main = r.mainData();
        int ntodelete = Page.u16(main, 0);
        int ntoinsert = Page.u16(main, 2);
        byte[] data = b.data();
        int at = 0;
        if (ntodelete == 1 && ntoinsert == 1) {
            int offnum = Page.u16(data, 0);
            int size = tupleSize(data, 2);
            Page.indexTupleOverwrite(page, offnum, Arrays.copyOfRange(data, 2, 2 + size), size);
            return;
        }
        if (ntodelete > 0) {
            int[] todelete = new int[ntodelete];
            for (int i = 0; i < ntodelete; i++) {
                todelete[i] = Page.u16(data, 2 * i);
            }
            at = 2 * ntodelete;
            Page.indexMultiDelete(page, todelete, ntodelete);
            if ((flags(page) & F_LEAF) != 0) {
                setFlags(page, flags(page) | F_TUPLES_DELETED);
            }
        }
        if (at < data.length) {
            int off = Page.lower(page) <= Page.HEADER_SIZE ? 1 : Page.maxOffset(page) + 1;
            int inserted = 0;
            while (at < data.length) {
                int size = tupleSize(data, at);
                Page.addItem(page, data, at, size, off);
                at += size;
                off++;
                inserted++;
            }
            if (inserted != ntoinsert) {
                throw new IllegalStateException("gist PAGE_UPDATE: " + inserted + " tuples for ntoinsert " + ntoinsert);
            }
        }
    }

    /**
     * One page of {@code gistRedoPageSplitRecord}; gistxlogPageSplit: origrlink (uint32),
     * orignsn (uint64 at 8), origleaf (bool at 16), npage (uint16 at 18), markfollowright (bool at 20).
     */
    private static void splitPage(DecodedRecord r, BlockReference b, byte[] page) {
        byte[] main = r.mainData();
        int origrlink = Page.u32(main, 0);
        long orignsn = u64(main, 8);
        boolean origleaf = main[16] != 0;
        int npage = Page.u16(main, 18);
        boolean markFollowRight = main[20] != 0;
        int i = b.id() - 1;
        if (i < 0 || i >= npage) {
            throw new IllegalStateException("gist PAGE_SPLIT of " + npage + " pages has block " + b.id());
        }
        long blkno = b.blockNumber();
        boolean rootSplit = r.block(1) != null && r.block(1).blockNumber() == ROOT_BLKNO;
        initPage(page, origleaf && blkno != ROOT_BLKNO ? F_LEAF : 0);
        byte[] data = b.data();
        int num = Page.u32(data, 0);
        int at = 4;
        for (int t = 0; t < num; t++) {
            int size = tupleSize(data, at);
            Page.addItem(page, data, at, size, t + 1);
            at += size;
        }
        if (at != data.length) {
            throw new IllegalStateException("gist PAGE_SPLIT: " + (data.length - at) + " bytes after " + num + " tuples");
        }
        int special = Page.special(page);
        if (blkno == ROOT_BLKNO) {
            Page.putU32(page, special + OPAQUE_RIGHTLINK, INVALID_BLOCK);
            setNsn(page, orignsn);
            setFlags(page, flags(page) & ~F_FOLLOW_RIGHT);
        } else {
            int rightlink = i < npage - 1 ? (int) next(r, i + 2).blockNumber() : origrlink;
            Page.putU32(page, special + OPAQUE_RIGHTLINK, rightlink);
            setNsn(page, orignsn);
            if (i < npage - 1 && !rootSplit && markFollowRight) {
                setFlags(page, flags(page) | F_FOLLOW_RIGHT);
            } else {
                setFlags(page, flags(page) & ~F_FOLLOW_RIGHT);
            }
        }
    }

    /** {@code gistRedoClearFollowRight}: the NSN becomes the record's LSN, F_FOLLOW_RIGHT goes. */
    private static void clearFollowRight(DecodedRecord r, byte[] page) {
        setNsn(page, r.endLsn().value());
        setFlags(page, flags(page) & ~F_FOLLOW_RIGHT);
    }

    private static BlockReference next(DecodedRecord r, int id) {
        BlockReference b = r.block(id);
        if (b == null) {
            throw new IllegalStateException("gist PAGE_SPLIT without block " + id);
        }
        return b;
    }

    /** {@code gistinitpage}: PageInit with the 16-byte special space, no right link, the flags, the page id. */
    static void initPage(byte[] page, int flags) {
        Page.init(page, SPECIAL_SIZE);
        int special = Page.special(page);
        Page.putU32(page, special + OPAQUE_RIGHTLINK, INVALID_BLOCK);
        Page.putU16(page, special + OPAQUE_FLAGS, flags);
        Page.putU16(page, special + OPAQUE_PAGE_ID, GIST_PAGE_ID);
    }

    /** {@code IndexTupleSize}: t_info & INDEX_SIZE_MASK, checked against the data left. */
    private static int tupleSize(byte[] data, int at) {
        if (at + 8 > data.length) {
            throw new IllegalStateException("gist redo: tuple header at " + at + " of " + data.length);
        }
        int size = Page.u16(data, at + 6) & 0x1FFF;
        if (size < 8 || at + size > data.length) {
            throw new IllegalStateException("gist redo: tuple of " + size + " bytes at " + at + " of " + data.length);
        }
        return size;
    }

    private static int opaque(byte[] page) {
        int special = Page.special(page);
        if (special != Page.SIZE - SPECIAL_SIZE) {
            throw new IllegalStateException("not a GiST page: pd_special " + special);
        }
        return special;
    }

    private static int flags(byte[] page) {
        return Page.u16(page, opaque(page) + OPAQUE_FLAGS);
    }

    private static void setFlags(byte[] page, int flags) {
        Page.putU16(page, opaque(page) + OPAQUE_FLAGS, flags);
    }

    /** {@code GistPageSetNSN}: PageXLogRecPtr, xlogid (high) then xrecoff (low). */
    private static void setNsn(byte[] page, long nsn) {
        int at = opaque(page) + OPAQUE_NSN;
        Page.putU32(page, at, (int) (nsn >>> 32));
        Page.putU32(page, at + 4, (int) nsn);
    }

    private static long u64(byte[] b, int off) {
        return (Page.u32(b, off) & 0xFFFFFFFFL) | (long) Page.u32(b, off + 4) << 32;
    }


    /**
     * {@code gist_mask}: pd_lsn, checksum, hint bits, unused space; the NSN; F_FOLLOW_RIGHT set
     * (it changes on the left child after the record); on leaves the line pointer flags
     * (LP_DEAD is set without WAL); F_HAS_GARBAGE cleared.
     */
    @Override
    public void mask(byte[] page, long blockNumber) {
        PageMasks.lsnAndChecksum(page);
        PageMasks.hintBits(page);
        PageMasks.unusedSpace(page);
        int special = Page.special(page);
        if (special + SPECIAL_SIZE > Page.SIZE) {
            throw new IllegalStateException("gist_mask: pd_special " + special);
        }
        Page.putU32(page, special + OPAQUE_NSN, 0);
        Page.putU32(page, special + OPAQUE_NSN + 4, 0);
        int flags = Page.u16(page, special + OPAQUE_FLAGS) | F_FOLLOW_RIGHT;
        if ((flags & F_LEAF) != 0) {
            PageMasks.lpFlags(page);
        }
        Page.putU16(page, special + OPAQUE_FLAGS, flags & ~F_HAS_GARBAGE);
    }
}
