package dev.strata.pageserver.redo.gin;

import dev.strata.pageserver.redo.RmgrRedo;
import dev.strata.pageserver.redo.page.ItemId;
import dev.strata.pageserver.redo.page.Page;
import dev.strata.pageserver.redo.page.PageMasks;
import dev.strata.pgcore.wal.BlockReference;
import dev.strata.pgcore.wal.DecodedRecord;
import java.util.Arrays;

/**
 * {@code gin_redo} (resource manager 13, access/gin/ginxlog.c, PostgreSQL 17.6), every record
 * type, one block at a time. The blocks per type (ginxlog.h, and the callers that register
 * them):
 * <ul>
 * <li>CREATE_PTREE: 0 the root leaf of a new posting tree, built from the compressed posting
 * list in the main data;</li>
 * <li>INSERT: 0 the page that gets the insert (block data): an entry tree tuple at its offset,
 * on a leaf maybe replacing the one there ({@code isDelete}), on an internal page after the
 * downlink at that offset was pointed at the split child's right half; a posting item on an
 * internal posting tree page, likewise; on a posting tree leaf, the segment actions
 * ({@code ginRedoRecompress}); 1 (internal pages only) the child whose split this finishes,
 * GIN_INCOMPLETE_SPLIT cleared;</li>
 * <li>SPLIT: 0, 1 and for a root split 2 are forced full-page images (nothing to replay); 3
 * (internal pages only) the child whose split this finishes, GIN_INCOMPLETE_SPLIT cleared;</li>
 * <li>VACUUM_PAGE: 0 a forced full-page image;</li>
 * <li>VACUUM_DATA_LEAF_PAGE: 0 a posting tree leaf, segment actions;</li>
 * <li>DELETE_PAGE: 0 the emptied posting tree page, GIN_DELETED and its delete xid in
 * pd_prune_xid; 1 its parent, the posting item removed; 2 its left sibling, which links past
 * it;</li>
 * <li>UPDATE_META_PAGE: 0 the metapage, re-initialised with the GinMetaPageData of the main
 * data; 1 (optional) the pending list's tail: the block data's tuples appended and the heap
 * tuple count in maxoff raised by one, or, when a new sublist was linked, its rightlink;</li>
 * <li>INSERT_LISTPAGE: 0 a pending list page, built with the block data's tuples;</li>
 * <li>DELETE_LISTPAGE: 0 the metapage as for UPDATE_META_PAGE; 1..n the pending list pages
 * removed from the head, re-initialised as deleted.</li>
 * </ul>
 * No GIN block is registered for its lock only, and none is changed after its image is taken.
 */
public final class GinRedo implements RmgrRedo {

    /** PostgreSQL's name for this redo, in errors. */
    private static final String ROUTINE = "gin_redo";

    public static final int XLOG_GIN_CREATE_PTREE = 0x10;
    public static final int XLOG_GIN_INSERT = 0x20;
    public static final int XLOG_GIN_SPLIT = 0x30;
    public static final int XLOG_GIN_VACUUM_PAGE = 0x40;
    public static final int XLOG_GIN_DELETE_PAGE = 0x50;
    public static final int XLOG_GIN_UPDATE_META_PAGE = 0x60;
    public static final int XLOG_GIN_INSERT_LISTPAGE = 0x70;
    public static final int XLOG_GIN_DELETE_LISTPAGE = 0x80;
    public static final int XLOG_GIN_VACUUM_DATA_LEAF_PAGE = 0x90;

    /** ginxlogInsert and ginxlogSplit flags. */
    public static final int GIN_INSERT_ISDATA = 0x01;
    public static final int GIN_INSERT_ISLEAF = 0x02;
    public static final int GIN_SPLIT_ROOT = 0x04;

    // ginxlogUpdateMeta: locator (12 bytes), metadata (int64-aligned), prevTail, newRightlink, ntuples
    private static final int UPDATE_META_METADATA = 16;
    private static final int UPDATE_META_PREV_TAIL = UPDATE_META_METADATA + GinPage.META_SIZE;
    private static final int UPDATE_META_NEW_RIGHTLINK = UPDATE_META_PREV_TAIL + 4;
    private static final int UPDATE_META_NTUPLES = UPDATE_META_NEW_RIGHTLINK + 4;
    /** ginxlogSplit.flags: after locator (12), rrlink, leftChildBlkno, rightChildBlkno. */
    private static final int SPLIT_FLAGS = 24;

    @Override
    public boolean handles(DecodedRecord record) {
        int info = record.info() & 0xF0;
        return info >= XLOG_GIN_CREATE_PTREE && info <= XLOG_GIN_VACUUM_DATA_LEAF_PAGE;
    }

    @Override
    public void redo(DecodedRecord r, BlockReference b, byte[] page) {
        int info = r.info() & 0xF0;
        byte[] main = r.mainData();
        int id = b.id();
        switch (info) {
            case XLOG_GIN_CREATE_PTREE -> {
                RmgrRedo.requireBlock(ROUTINE, r, b, 0);
                int size = Page.u32(main, 0);
                if (size < 0 || 4 + size > main.length) {
                    throw new IllegalStateException("GIN CREATE_PTREE: posting list of " + size + " bytes in "
                            + main.length);
                }
                GinPage.init(page, GinPage.GIN_DATA | GinPage.GIN_LEAF | GinPage.GIN_COMPRESSED);
                GinPage.setDataSize(page, size);
                System.arraycopy(main, 4, page, GinPage.DATA, size);
            }
            case XLOG_GIN_INSERT -> insert(r, b, page, main);
            case XLOG_GIN_SPLIT -> {
                if (id == 3 && (Page.u16(main, SPLIT_FLAGS) & GIN_INSERT_ISLEAF) == 0) {
                    clearIncompleteSplit(page);
                } else {
                    throw new IllegalStateException("GIN split record did not contain a full-page image of block "
                            + id);
                }
            }
            case XLOG_GIN_VACUUM_PAGE -> throw new IllegalStateException(
                    "replay of gin entry tree page vacuum did not restore the page");
            case XLOG_GIN_VACUUM_DATA_LEAF_PAGE -> {
                RmgrRedo.requireBlock(ROUTINE, r, b, 0);
                GinPage.recompress(page, b.data(), 0);
            }
            case XLOG_GIN_DELETE_PAGE -> {
                // ginxlogDeletePage: parentOffset (uint16), rightLink, deleteXid (uint32, at 4 and 8)
                switch (id) {
                    case 0 -> {
                        requireData(page, "DELETE_PAGE");
                        GinPage.setFlags(page, GinPage.flags(page) | GinPage.GIN_DELETED);
                        Page.putU32(page, Page.OFF_PRUNE_XID, Page.u32(main, 8));
                    }
                    case 1 -> {
                        requireData(page, "DELETE_PAGE");
                        GinPage.deletePostingItem(page, Page.u16(main, 0));
                    }
                    case 2 -> {
                        requireData(page, "DELETE_PAGE");
                        GinPage.setRightlink(page, Page.u32(main, 4));
                    }
                    default -> throw RmgrRedo.noBlock(ROUTINE, r, b);
                }
            }
            case XLOG_GIN_UPDATE_META_PAGE -> updateMetapage(r, b, page, main);
            case XLOG_GIN_INSERT_LISTPAGE -> {
                RmgrRedo.requireBlock(ROUTINE, r, b, 0);
                // ginxlogInsertListPage: rightlink (uint32), ntuples (int32)
                int rightlink = Page.u32(main, 0);
                GinPage.init(page, GinPage.GIN_LIST);
                GinPage.setRightlink(page, rightlink);
                if (rightlink == GinPage.INVALID_BLOCK) {
                    GinPage.setFlags(page, GinPage.flags(page) | GinPage.GIN_LIST_FULLROW);
                    GinPage.setMaxoff(page, 1);
                } else {
                    GinPage.setMaxoff(page, 0);
                }
                addTuples(page, b.data(), Page.u32(main, 4), 1);
            }
            case XLOG_GIN_DELETE_LISTPAGE -> {
                // ginxlogDeleteListPages: metadata, ndeleted (int32)
                if (id == 0) {
                    GinPage.initMeta(page, main, 0);
                } else {
                    int ndeleted = Page.u32(main, GinPage.META_SIZE);
                    if (id > ndeleted) {
                        throw RmgrRedo.noBlock(ROUTINE, r, b);
                    }
                    GinPage.init(page, GinPage.GIN_DELETED);
                }
            }
            default -> throw new IllegalStateException("gin_redo: unknown op code " + info);
        }
    }

    /** {@code ginRedoInsert}: ginxlogInsert (flags), the children's BlockIdData on internal pages. */
    private static void insert(DecodedRecord r, BlockReference b, byte[] page, byte[] main) {
        int flags = Page.u16(main, 0);
        boolean leaf = (flags & GIN_INSERT_ISLEAF) != 0;
        int rightChild = GinPage.INVALID_BLOCK;
        if (!leaf) {
            rightChild = GinPostingList.blockId(main, 2 + 4);
        }
        if (b.id() == 1 && !leaf) {
            clearIncompleteSplit(page);
            return;
        }
        RmgrRedo.requireBlock(ROUTINE, r, b, 0);
        byte[] data = b.data();
        boolean isData = (flags & GIN_INSERT_ISDATA) != 0;
        int pageFlags = GinPage.flags(page);
        if (isData != ((pageFlags & GinPage.GIN_DATA) != 0)) {
            throw new IllegalStateException("GIN INSERT " + (isData ? "data" : "entry") + " on a page with flags 0x"
                    + Integer.toHexString(pageFlags));
        }
        if (isData) {
            if (leaf) {
                GinPage.recompress(page, data, 0);
            } else {
                // ginxlogInsertDataInternal: offset (uint16), newitem (PostingItem, 10 bytes)
                if ((pageFlags & GinPage.GIN_LEAF) != 0) {
                    throw new IllegalStateException("GIN INSERT on an internal data page that is a leaf");
                }
                int offset = Page.u16(data, 0);
                if (offset < 1 || offset > GinPage.maxoff(page)) {
                    throw new IllegalStateException("GIN INSERT: posting item " + offset + " of " + GinPage.maxoff(page));
                }
                GinPostingList.putBlockId(page, GinPage.postingItem(offset), rightChild);
                GinPage.addPostingItem(page, data, 2, offset);
            }
        } else {
            insertEntry(page, data, rightChild);
        }
    }

    /** {@code ginRedoInsertEntry}; ginxlogInsertEntry: offset (uint16), isDelete (bool), the tuple at 4. */
    private static void insertEntry(byte[] page, byte[] data, int rightChild) {
        int offset = Page.u16(data, 0);
        boolean isDelete = data[2] != 0;
        if (rightChild != GinPage.INVALID_BLOCK) {
            if ((GinPage.flags(page) & GinPage.GIN_LEAF) != 0 || offset < 1 || offset > Page.maxOffset(page)) {
                throw new IllegalStateException("GIN INSERT: downlink " + offset + " on a leaf or past the end");
            }
            int itup = ItemId.offset(page, offset);
            GinPostingList.putBlockId(page, itup, rightChild); // GinSetDownlink: t_tid = (blkno, 0)
            Page.putU16(page, itup + 4, 0);
        }
        if (isDelete) {
            if ((GinPage.flags(page) & GinPage.GIN_LEAF) == 0) {
                throw new IllegalStateException("GIN INSERT with isDelete on an internal page");
            }
            Page.indexTupleDelete(page, offset);
        }
        int size = tupleSize(data, 4);
        if (4 + size > data.length) {
            throw new IllegalStateException("GIN INSERT: tuple of " + size + " bytes in " + data.length);
        }
        Page.addItem(page, data, 4, size, offset);
    }

    /** {@code ginRedoUpdateMetapage}. */
    private static void updateMetapage(DecodedRecord r, BlockReference b, byte[] page, byte[] main) {
        if (main.length < UPDATE_META_NTUPLES + 4) {
            throw new IllegalStateException("GIN UPDATE_META_PAGE of " + main.length + " bytes");
        }
        if (b.id() == 0) {
            GinPage.initMeta(page, main, UPDATE_META_METADATA);
            return;
        }
        RmgrRedo.requireBlock(ROUTINE, r, b, 1);
        int ntuples = Page.u32(main, UPDATE_META_NTUPLES);
        if (ntuples > 0) {
            int off = Page.lower(page) <= Page.HEADER_SIZE ? 1 : Page.maxOffset(page) + 1;
            addTuples(page, b.data(), ntuples, off);
            GinPage.setMaxoff(page, GinPage.maxoff(page) + 1);
        } else if (Page.u32(main, UPDATE_META_PREV_TAIL) != GinPage.INVALID_BLOCK) {
            GinPage.setRightlink(page, Page.u32(main, UPDATE_META_NEW_RIGHTLINK));
        } else {
            throw RmgrRedo.noBlock(ROUTINE, r, b);
        }
    }

    /** {@code ntuples} index tuples back to back in {@code data}, added at {@code off}, {@code off + 1}, .... */
    private static void addTuples(byte[] page, byte[] data, int ntuples, int off) {
        int at = 0;
        for (int i = 0; i < ntuples; i++) {
            if (at + 8 > data.length) {
                throw new IllegalStateException("GIN: " + ntuples + " tuples do not fit " + data.length + " bytes");
            }
            int size = tupleSize(data, at);
            if (size == 0 || at + size > data.length) {
                throw new IllegalStateException("GIN: tuple of " + size + " bytes at " + at + " of " + data.length);
            }
            Page.addItem(page, data, at, size, off++);
            at += size;
        }
        if (at != data.length) {
            throw new IllegalStateException("GIN: " + (data.length - at) + " bytes after " + ntuples + " tuples");
        }
    }

    /** {@code IndexTupleSize}: t_info (after the 6-byte t_tid) & INDEX_SIZE_MASK. */
    private static int tupleSize(byte[] b, int at) {
        return Page.u16(b, at + 6) & 0x1FFF;
    }

    /** {@code ginRedoClearIncompleteSplit}. */
    private static void clearIncompleteSplit(byte[] page) {
        GinPage.setFlags(page, GinPage.flags(page) & ~GinPage.GIN_INCOMPLETE_SPLIT);
    }

    private static void requireData(byte[] page, String type) {
        if ((GinPage.flags(page) & GinPage.GIN_DATA) == 0) {
            throw new IllegalStateException("GIN " + type + " on a page that is not a posting tree page");
        }
    }



    /**
     * {@code gin_mask}: pd_lsn, the checksum, the hint bits (pd_prune_xid, so a deleted page's
     * delete xid too); all the content of a deleted page (pd_lower and pd_upper too); the unused
     * space of any other page whose pd_lower is past the header.
     */
    @Override
    public void mask(byte[] page, long blockNumber) {
        PageMasks.lsnAndChecksum(page);
        int special = Page.special(page);
        if (special + GinPage.SPECIAL_SIZE > Page.SIZE) {
            throw new IllegalStateException("gin_mask: pd_special " + special);
        }
        int flags = Page.u16(page, special + 6);
        PageMasks.hintBits(page);
        if ((flags & GinPage.GIN_DELETED) != 0) {
            Arrays.fill(page, Page.HEADER_SIZE, Page.SIZE, (byte) 0); // mask_page_content
            Page.setLower(page, 0);
            Page.setUpper(page, 0);
        } else if (Page.lower(page) > Page.HEADER_SIZE) {
            PageMasks.unusedSpace(page);
        }
    }
}
