package dev.strata.pageserver.redo.brin;

import dev.strata.pageserver.redo.RmgrRedo;
import dev.strata.pageserver.redo.page.ItemId;
import dev.strata.pageserver.redo.page.Page;
import dev.strata.pageserver.redo.page.PageMasks;
import dev.strata.pgcore.wal.BlockReference;
import dev.strata.pgcore.wal.DecodedRecord;

/**
 * {@code brin_redo} (resource manager 17, access/brin/brin_xlog.c, PostgreSQL 17.6), every
 * record type, one block at a time. The blocks per type:
 * <ul>
 * <li>CREATE_INDEX: 0 the metapage, rebuilt ({@code brin_metapage_init});</li>
 * <li>INSERT (+INIT): 0 the regular page that gets the tuple (block data) at {@code offnum},
 * re-initialised first with +INIT; 1 the revmap page, whose slot for {@code heapBlk} gets
 * (block 0's number, offnum);</li>
 * <li>UPDATE (+INIT): 0 and 1 as INSERT, 2 the old regular page, whose old tuple is deleted
 * without compacting the line pointers ({@code PageIndexTupleDeleteNoCompact});</li>
 * <li>SAMEPAGE_UPDATE: 0 the regular page, tuple overwritten in place;</li>
 * <li>REVMAP_EXTEND: 0 the metapage ({@code lastRevmapPage}, pd_lower), 1 the new revmap page,
 * always initialised;</li>
 * <li>DESUMMARIZE: 0 the revmap page, slot set invalid; 1 the regular page, tuple deleted
 * without compacting.</li>
 * </ul>
 * Layout (brin_page.h): the special space is 8 bytes (MAXALIGN(1)), the page type in its last
 * uint16, the flags in the one before; the metapage's and revmap's contents start at offset 24.
 */
public final class BrinRedo implements RmgrRedo {

    /** PostgreSQL's name for this redo, in errors. */
    private static final String ROUTINE = "brin_redo";

    public static final int XLOG_BRIN_CREATE_INDEX = 0x00;
    public static final int XLOG_BRIN_INSERT = 0x10;
    public static final int XLOG_BRIN_UPDATE = 0x20;
    public static final int XLOG_BRIN_SAMEPAGE_UPDATE = 0x30;
    public static final int XLOG_BRIN_REVMAP_EXTEND = 0x40;
    public static final int XLOG_BRIN_DESUMMARIZE = 0x50;
    public static final int XLOG_BRIN_OPMASK = 0x70;
    public static final int XLOG_BRIN_INIT_PAGE = 0x80;

    public static final int PAGETYPE_META = 0xF091;
    public static final int PAGETYPE_REVMAP = 0xF092;
    public static final int PAGETYPE_REGULAR = 0xF093;
    public static final int EVACUATE_PAGE = 1;
    public static final int META_MAGIC = 0xA8109CFA;

    /** {@code sizeof(BrinSpecialSpace)}: uint16 vector[MAXALIGN(1) / 2]. */
    private static final int SPECIAL_SIZE = 8;
    /** {@code PageGetContents}: MAXALIGN(SizeOfPageHeaderData). */
    private static final int CONTENTS = 24;
    /** {@code sizeof(BrinMetaPageData)}: magic, version, pagesPerRange, lastRevmapPage. */
    private static final int META_SIZE = 16;
    /** {@code REVMAP_PAGE_MAXITEMS}: (8192 - 24 - 8) / sizeof(ItemPointerData). */
    static final int REVMAP_PAGE_MAXITEMS = (Page.SIZE - CONTENTS - SPECIAL_SIZE) / 6;
    private static final long INVALID_BLOCK = 0xFFFFFFFFL;

    @Override
    public boolean handles(DecodedRecord record) {
        return (record.info() & XLOG_BRIN_OPMASK) <= XLOG_BRIN_DESUMMARIZE;
    }

    @Override
    public void redo(DecodedRecord r, BlockReference b, byte[] page) {
        int info = r.info() & 0xF0;
        byte[] main = r.mainData();
        switch (info & XLOG_BRIN_OPMASK) {
            case XLOG_BRIN_CREATE_INDEX -> {
                RmgrRedo.requireBlock(ROUTINE, r, b, 0);
                metapageInit(page, Page.u32(main, 0) & INVALID_BLOCK, Page.u16(main, 4));
            }
            case XLOG_BRIN_INSERT -> insertUpdate(r, b, page, info, main, 0);
            case XLOG_BRIN_UPDATE -> {
                // xl_brin_update: oldOffnum (uint16), 2 bytes padding, xl_brin_insert (4-aligned)
                if (b.id() == 2) {
                    deleteNoCompact(page, Page.u16(main, 0));
                } else {
                    insertUpdate(r, b, page, info, main, 4);
                }
            }
            case XLOG_BRIN_SAMEPAGE_UPDATE -> {
                RmgrRedo.requireBlock(ROUTINE, r, b, 0);
                byte[] tuple = b.data();
                Page.indexTupleOverwrite(page, Page.u16(main, 0), tuple, tuple.length);
            }
            case XLOG_BRIN_REVMAP_EXTEND -> {
                if (b.id() == 0) {
                    long target = Page.u32(main, 0) & INVALID_BLOCK;
                    Page.putU32(page, CONTENTS + 12, (int) target);
                    Page.setLower(page, CONTENTS + META_SIZE);
                } else {
                    RmgrRedo.requireBlock(ROUTINE, r, b, 1);
                    pageInit(page, PAGETYPE_REVMAP);
                }
            }
            case XLOG_BRIN_DESUMMARIZE -> {
                // xl_brin_desummarize: pagesPerRange, heapBlk, regOffset
                if (b.id() == 0) {
                    setRevmapItem(page, Page.u32(main, 0) & INVALID_BLOCK, Page.u32(main, 4) & INVALID_BLOCK,
                            INVALID_BLOCK, 0);
                } else {
                    RmgrRedo.requireBlock(ROUTINE, r, b, 1);
                    deleteNoCompact(page, Page.u16(main, 8));
                }
            }
            default -> throw new IllegalStateException("brin_redo: unknown op code " + info);
        }
    }

    /**
     * {@code brin_xlog_insert_update}, for block 0 (the tuple) or block 1 (the revmap).
     * {@code at} is where xl_brin_insert starts in main data: heapBlk, pagesPerRange, offnum.
     */
    private static void insertUpdate(DecodedRecord r, BlockReference b, byte[] page, int info, byte[] main, int at) {
        long heapBlk = Page.u32(main, at) & INVALID_BLOCK;
        long pagesPerRange = Page.u32(main, at + 4) & INVALID_BLOCK;
        int offnum = Page.u16(main, at + 8);
        if (b.id() == 0) {
            if ((info & XLOG_BRIN_INIT_PAGE) != 0) {
                pageInit(page, PAGETYPE_REGULAR);
            }
            if (Page.maxOffset(page) + 1 < offnum) {
                throw new IllegalStateException("brin_xlog_insert_update: invalid max offset number " + offnum);
            }
            byte[] tuple = b.data();
            Page.addItemOverwrite(page, tuple, 0, tuple.length, offnum, false);
        } else {
            RmgrRedo.requireBlock(ROUTINE, r, b, 1);
            long regpgno = r.block(0).blockNumber();
            setRevmapItem(page, pagesPerRange, heapBlk, regpgno, offnum);
        }
    }


    /** {@code brin_page_init}: PageInit with the 8-byte special space, then the page type. */
    static void pageInit(byte[] page, int type) {
        Page.init(page, SPECIAL_SIZE);
        Page.putU16(page, Page.special(page) + 6, type);
    }

    /** {@code brin_metapage_init}. */
    static void metapageInit(byte[] page, long pagesPerRange, int version) {
        pageInit(page, PAGETYPE_META);
        Page.putU32(page, CONTENTS, META_MAGIC);
        Page.putU32(page, CONTENTS + 4, version);
        Page.putU32(page, CONTENTS + 8, (int) pagesPerRange);
        Page.putU32(page, CONTENTS + 12, 0);
        Page.setLower(page, CONTENTS + META_SIZE);
    }

    /** {@code brinSetHeapBlockItemptr}: one ItemPointerData (bi_hi, bi_lo, posid) of the revmap. */
    static void setRevmapItem(byte[] page, long pagesPerRange, long heapBlk, long block, int offnum) {
        if (pagesPerRange == 0) {
            throw new IllegalStateException("brin revmap: pagesPerRange 0");
        }
        int index = (int) ((heapBlk / pagesPerRange) % REVMAP_PAGE_MAXITEMS);
        int at = CONTENTS + index * 6;
        Page.putU16(page, at, (int) (block >>> 16) & 0xFFFF);
        Page.putU16(page, at + 2, (int) block & 0xFFFF);
        Page.putU16(page, at + 4, offnum);
    }

    /**
     * {@code PageIndexTupleDeleteNoCompact}: the line pointer becomes unused (or is cut off if it
     * is the last), the tuple data below the deleted one moves up by its aligned size.
     */
    static void deleteNoCompact(byte[] p, int offnum) {
        int lower = Page.lower(p);
        int upper = Page.upper(p);
        int special = Page.special(p);
        if (lower < Page.HEADER_SIZE || lower > upper || upper > special || special > Page.SIZE
                || special != Page.maxAlign(special)) {
            throw new IllegalStateException("corrupted page pointers: lower " + lower + " upper " + upper
                    + " special " + special);
        }
        int nline = Page.maxOffset(p);
        if (offnum <= 0 || offnum > nline) {
            throw new IllegalStateException("invalid index offnum: " + offnum);
        }
        int size = ItemId.length(p, offnum);
        int offset = ItemId.offset(p, offnum);
        if (offset < upper || offset + size > special || offset != Page.maxAlign(offset)) {
            throw new IllegalStateException("corrupted line pointer: offset " + offset + ", size " + size);
        }
        size = Page.maxAlign(size);
        if (offnum < nline) {
            ItemId.setUnused(p, offnum);
        } else {
            lower -= ItemId.SIZE;
            Page.setLower(p, lower);
            nline--;
        }
        if (offset > upper) {
            System.arraycopy(p, upper, p, upper + size, offset - upper);
        }
        Page.setUpper(p, upper + size);
        if (lower > Page.HEADER_SIZE) {
            for (int i = 1; i <= nline; i++) {
                if (ItemId.hasStorage(p, i) && ItemId.offset(p, i) <= offset) {
                    ItemId.setOffset(p, i, ItemId.offset(p, i) + size);
                }
            }
        }
    }

    /**
     * {@code brin_mask}: pd_lsn, the checksum, the hint bits; the unused space of regular pages
     * and of a metapage whose pd_lower is past the header; the BRIN_EVACUATE_PAGE flag (set
     * without WAL).
     */
    @Override
    public void mask(byte[] page, long blockNumber) {
        PageMasks.lsnAndChecksum(page);
        PageMasks.hintBits(page);
        int special = Page.special(page);
        if (special + SPECIAL_SIZE > Page.SIZE) {
            throw new IllegalStateException("brin_mask: pd_special " + special);
        }
        int type = Page.u16(page, special + 6);
        if (type == PAGETYPE_REGULAR || (type == PAGETYPE_META && Page.lower(page) > Page.HEADER_SIZE)) {
            PageMasks.unusedSpace(page);
        }
        Page.putU16(page, special + 4, Page.u16(page, special + 4) & ~EVACUATE_PAGE);
    }
}
