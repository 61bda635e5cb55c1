package dev.strata.pageserver.redo.spgist;

import dev.strata.pageserver.redo.RmgrRedo;
import dev.strata.pageserver.redo.page.ItemId;
import dev.strata.pageserver.redo.page.Page;
import dev.strata.pageserver.redo.page.PageMasks;
import dev.strata.pgcore.wal.BlockReference;
import dev.strata.pgcore.wal.DecodedRecord;

/**
 * {@code spg_redo} (resource manager 16, access/spgist/spgxlog.c, PostgreSQL 17.6), every record
 * type, one block at a time. Everything is in the main data (the struct, offset arrays, then
 * unaligned tuples); the blocks per type (spgxlog.h and the callers in spgdoinsert.c and
 * spgvacuum.c):
 * <ul>
 * <li>ADD_LEAF: 0 the leaf page (maybe initialised) that gets the leaf tuple, replacing a
 * placeholder or a dead tuple, with the chain head's nextOffset pointed at it; 1 (if
 * offnumParent) the parent, whose node link is pointed at it;</li>
 * <li>MOVE_LEAFS: 0 the source leaf page, its moved tuples turned into a redirect (placeholder
 * during a build) and placeholders; 1 the destination (maybe initialised) with the tuples;
 * 2 the parent's node link;</li>
 * <li>ADD_NODE: 0 the page of the inner tuple, replaced in place by the one with the added
 * node, or, when it moved (block 1 present), by a redirect (placeholder during a build); 1
 * where it moved (maybe initialised); the parent's node link on 0, 1 or 2 (parentBlk);</li>
 * <li>SPLIT_TUPLE: 0 the prefix tuple replacing the inner tuple (and the postfix tuple if on the
 * same page); 1 (otherwise) the postfix tuple's page (maybe initialised);</li>
 * <li>PICKSPLIT: 0 (not for a root split) the source leaf page, its tuples turned into a
 * redirect and placeholders, or re-initialised, then its share of the leaf tuples; 1 (if any)
 * the destination leaf page likewise; 2 the inner tuple's page (the root re-initialised on a
 * root split), maybe with the parent's link; 3 (if the parent is another page) the parent's
 * link;</li>
 * <li>VACUUM_LEAF, VACUUM_ROOT, VACUUM_REDIRECT: 0 the page vacuumed.</li>
 * </ul>
 * No block is registered for its lock only, and none is changed after its image is taken.
 */
public final class SpgistRedo implements RmgrRedo {

    /** PostgreSQL's name for this redo, in errors. */
    private static final String ROUTINE = "spg_redo";

    public static final int XLOG_SPGIST_ADD_LEAF = 0x10;
    public static final int XLOG_SPGIST_MOVE_LEAFS = 0x20;
    public static final int XLOG_SPGIST_ADD_NODE = 0x30;
    public static final int XLOG_SPGIST_SPLIT_TUPLE = 0x40;
    public static final int XLOG_SPGIST_PICKSPLIT = 0x50;
    public static final int XLOG_SPGIST_VACUUM_LEAF = 0x60;
    public static final int XLOG_SPGIST_VACUUM_ROOT = 0x70;
    public static final int XLOG_SPGIST_VACUUM_REDIRECT = 0x80;

    // Main data layouts (C struct offsets on every 64-bit platform).
    /** spgxlogAddLeaf: newPage, storesNulls, offnumLeaf, offnumHeadLeaf, offnumParent, nodeI; tuple at 10. */
    private static final int ADD_LEAF_TUPLE = 10;
    /** spgxlogMoveLeafs: nMoves, newPage, replaceDead, storesNulls, offnumParent@6, nodeI@8, stateSrc@12. */
    private static final int MOVE_LEAFS_OFFSETS = 20;
    /** spgxlogAddNode: offnum, offnumNew, newPage@4, parentBlk@5, offnumParent@6, nodeI@8, stateSrc@12. */
    private static final int ADD_NODE_TUPLE = 20;
    /** spgxlogSplitTuple: offnumPrefix, offnumPostfix, newPage@4, postfixBlkSame@5. */
    private static final int SPLIT_TUPLE_TUPLES = 6;
    /**
     * spgxlogPickSplit: isRootSplit@0, nDelete@2, nInsert@4, initSrc@6, initDest@7,
     * offnumInner@8, initInner@10, storesNulls@11, innerIsParent@12, offnumParent@14, nodeI@16,
     * stateSrc@20.
     */
    private static final int PICKSPLIT_OFFSETS = 28;
    /** spgxlogVacuumLeaf: nDead, nPlaceholder, nMove, nChain, stateSrc@8. */
    private static final int VACUUM_LEAF_OFFSETS = 16;
    /** spgxlogVacuumRoot: nDelete, stateSrc@4. */
    private static final int VACUUM_ROOT_OFFSETS = 12;
    /** spgxlogVacuumRedirect: nToPlaceholder, firstPlaceholder, snapshotConflictHorizon@4, isCatalogRel@8. */
    private static final int VACUUM_REDIRECT_OFFSETS = 10;

    @Override
    public boolean handles(DecodedRecord record) {
        int info = record.info() & 0xF0;
        return info >= XLOG_SPGIST_ADD_LEAF && info <= XLOG_SPGIST_VACUUM_REDIRECT;
    }

    @Override
    public void redo(DecodedRecord r, BlockReference b, byte[] page) {
        int info = r.info() & 0xF0;
        byte[] main = r.mainData();
        switch (info) {
            case XLOG_SPGIST_ADD_LEAF -> addLeaf(r, b, page, main);
            case XLOG_SPGIST_MOVE_LEAFS -> moveLeafs(r, b, page, main);
            case XLOG_SPGIST_ADD_NODE -> addNode(r, b, page, main);
            case XLOG_SPGIST_SPLIT_TUPLE -> splitTuple(r, b, page, main);
            case XLOG_SPGIST_PICKSPLIT -> pickSplit(r, b, page, main);
            case XLOG_SPGIST_VACUUM_LEAF -> vacuumLeaf(r, b, page, main);
            case XLOG_SPGIST_VACUUM_ROOT -> {
                RmgrRedo.requireBlock(ROUTINE, r, b, 0);
                int n = Page.u16(main, 0);
                Page.indexMultiDelete(page, offsets(main, VACUUM_ROOT_OFFSETS, n), n);
            }
            case XLOG_SPGIST_VACUUM_REDIRECT -> vacuumRedirect(r, b, page, main);
            default -> throw new IllegalStateException("spg_redo: unknown op code " + info);
        }
    }

    /** {@code spgRedoAddLeaf}. */
    private static void addLeaf(DecodedRecord r, BlockReference b, byte[] page, byte[] main) {
        boolean newPage = main[0] != 0;
        boolean storesNulls = main[1] != 0;
        int offnumLeaf = Page.u16(main, 2);
        int offnumHeadLeaf = Page.u16(main, 4);
        int offnumParent = Page.u16(main, 6);
        int nodeI = Page.u16(main, 8);
        if (b.id() == 0) {
            if (newPage) {
                SpgistPage.init(page, SpgistPage.SPGIST_LEAF | (storesNulls ? SpgistPage.SPGIST_NULLS : 0));
            }
            int size = SpgistPage.leafSize(main, ADD_LEAF_TUPLE);
            if (offnumLeaf != offnumHeadLeaf) {
                SpgistPage.addOrReplace(page, main, ADD_LEAF_TUPLE, size, offnumLeaf);
                if (offnumHeadLeaf != 0) {
                    SpgistPage.setNextOffset(page, offnumHeadLeaf, offnumLeaf);
                }
            } else {
                SpgistPage.replace(page, main, ADD_LEAF_TUPLE, size, offnumLeaf); // a DEAD tuple
            }
        } else if (b.id() == 1 && offnumParent != 0) {
            SpgistPage.updateNodeLink(page, offnumParent, nodeI, blockNumber(r, 0), offnumLeaf);
        } else {
            throw RmgrRedo.noBlock(ROUTINE, r, b);
        }
    }

    /** {@code spgRedoMoveLeafs}. */
    private static void moveLeafs(DecodedRecord r, BlockReference b, byte[] page, byte[] main) {
        int nMoves = Page.u16(main, 0);
        boolean newPage = main[2] != 0;
        boolean replaceDead = main[3] != 0;
        boolean storesNulls = main[4] != 0;
        int redirectXid = Page.u32(main, 12);
        boolean isBuild = main[16] != 0;
        int nInsert = replaceDead ? 1 : nMoves + 1;
        int[] toDelete = offsets(main, MOVE_LEAFS_OFFSETS, nMoves);
        int[] toInsert = offsets(main, MOVE_LEAFS_OFFSETS + 2 * nMoves, nInsert);
        int blknoDst = blockNumber(r, 1);
        switch (b.id()) {
            case 0 -> SpgistPage.multiDelete(page, toDelete, isBuild ? SpgistPage.PLACEHOLDER : SpgistPage.REDIRECT,
                    SpgistPage.PLACEHOLDER, blknoDst, toInsert[nInsert - 1], redirectXid);
            case 1 -> {
                if (newPage) {
                    SpgistPage.init(page, SpgistPage.SPGIST_LEAF | (storesNulls ? SpgistPage.SPGIST_NULLS : 0));
                }
                int at = MOVE_LEAFS_OFFSETS + 2 * (nMoves + nInsert);
                for (int i = 0; i < nInsert; i++) {
                    int size = SpgistPage.leafSize(main, at);
                    SpgistPage.addOrReplace(page, main, at, size, toInsert[i]);
                    at += size;
                }
            }
            case 2 -> SpgistPage.updateNodeLink(page, Page.u16(main, 6), Page.u16(main, 8), blknoDst,
                    toInsert[nInsert - 1]);
            default -> throw RmgrRedo.noBlock(ROUTINE, r, b);
        }
    }

    /** {@code spgRedoAddNode}. */
    private static void addNode(DecodedRecord r, BlockReference b, byte[] page, byte[] main) {
        int offnum = Page.u16(main, 0);
        int offnumNew = Page.u16(main, 2);
        boolean newPage = main[4] != 0;
        int parentBlk = main[5];
        int offnumParent = Page.u16(main, 6);
        int nodeI = Page.u16(main, 8);
        int redirectXid = Page.u32(main, 12);
        boolean isBuild = main[16] != 0;
        int size = SpgistPage.innerSize(main, ADD_NODE_TUPLE);
        if (r.block(1) == null) {
            RmgrRedo.requireBlock(ROUTINE, r, b, 0); // updated in place
            SpgistPage.replace(page, main, ADD_NODE_TUPLE, size, offnum);
            return;
        }
        int blknoNew = blockNumber(r, 1);
        switch (b.id()) {
            case 1 -> {
                if (newPage) {
                    SpgistPage.init(page, 0);
                }
                SpgistPage.addOrReplace(page, main, ADD_NODE_TUPLE, size, offnumNew);
                if (parentBlk == 1) {
                    SpgistPage.updateNodeLink(page, offnumParent, nodeI, blknoNew, offnumNew);
                }
            }
            case 0 -> {
                byte[] dead = isBuild ? SpgistPage.deadTuple(SpgistPage.PLACEHOLDER, -1, 0, redirectXid)
                        : SpgistPage.deadTuple(SpgistPage.REDIRECT, blknoNew, offnumNew, redirectXid);
                SpgistPage.replace(page, dead, 0, SpgistPage.DEAD_TUPLE_SIZE, offnum);
                if (isBuild) {
                    SpgistPage.setNPlaceholder(page, SpgistPage.nPlaceholder(page) + 1);
                } else {
                    SpgistPage.setNRedirection(page, SpgistPage.nRedirection(page) + 1);
                }
                if (parentBlk == 0) {
                    SpgistPage.updateNodeLink(page, offnumParent, nodeI, blknoNew, offnumNew);
                }
            }
            case 2 -> {
                if (parentBlk != 2) {
                    throw RmgrRedo.noBlock(ROUTINE, r, b);
                }
                SpgistPage.updateNodeLink(page, offnumParent, nodeI, blknoNew, offnumNew);
            }
            default -> throw RmgrRedo.noBlock(ROUTINE, r, b);
        }
    }

    /** {@code spgRedoSplitTuple}. */
    private static void splitTuple(DecodedRecord r, BlockReference b, byte[] page, byte[] main) {
        int offnumPrefix = Page.u16(main, 0);
        int offnumPostfix = Page.u16(main, 2);
        boolean newPage = main[4] != 0;
        boolean postfixBlkSame = main[5] != 0;
        int prefixSize = SpgistPage.innerSize(main, SPLIT_TUPLE_TUPLES);
        int postfixAt = SPLIT_TUPLE_TUPLES + prefixSize;
        int postfixSize = SpgistPage.innerSize(main, postfixAt);
        if (b.id() == 1 && !postfixBlkSame) {
            if (newPage) {
                SpgistPage.init(page, 0);
            }
            SpgistPage.addOrReplace(page, main, postfixAt, postfixSize, offnumPostfix);
        } else if (b.id() == 0) {
            SpgistPage.replace(page, main, SPLIT_TUPLE_TUPLES, prefixSize, offnumPrefix);
            if (postfixBlkSame) {
                SpgistPage.addOrReplace(page, main, postfixAt, postfixSize, offnumPostfix);
            }
        } else {
            throw RmgrRedo.noBlock(ROUTINE, r, b);
        }
    }

    /** {@code spgRedoPickSplit}. */
    private static void pickSplit(DecodedRecord r, BlockReference b, byte[] page, byte[] main) {
        boolean isRootSplit = main[0] != 0;
        int nDelete = Page.u16(main, 2);
        int nInsert = Page.u16(main, 4);
        boolean initSrc = main[6] != 0;
        boolean initDest = main[7] != 0;
        int offnumInner = Page.u16(main, 8);
        boolean initInner = main[10] != 0;
        boolean storesNulls = main[11] != 0;
        boolean innerIsParent = main[12] != 0;
        int offnumParent = Page.u16(main, 14);
        int nodeI = Page.u16(main, 16);
        int redirectXid = Page.u32(main, 20);
        boolean isBuild = main[24] != 0;
        int[] toDelete = offsets(main, PICKSPLIT_OFFSETS, nDelete);
        int[] toInsert = offsets(main, PICKSPLIT_OFFSETS + 2 * nDelete, nInsert);
        int select = PICKSPLIT_OFFSETS + 2 * (nDelete + nInsert);
        int innerAt = select + nInsert;
        int innerSize = SpgistPage.innerSize(main, innerAt);
        int blknoInner = blockNumber(r, 2);
        int leafFlags = SpgistPage.SPGIST_LEAF | (storesNulls ? SpgistPage.SPGIST_NULLS : 0);
        switch (b.id()) {
            case 0, 1 -> {
                boolean src = b.id() == 0;
                if (src && isRootSplit) {
                    throw RmgrRedo.noBlock(ROUTINE, r, b);
                }
                if (src ? initSrc : initDest) {
                    SpgistPage.init(page, leafFlags);
                } else if (src) {
                    if (isBuild) {
                        SpgistPage.multiDelete(page, toDelete, SpgistPage.PLACEHOLDER, SpgistPage.PLACEHOLDER,
                                -1, 0, redirectXid);
                    } else {
                        SpgistPage.multiDelete(page, toDelete, SpgistPage.REDIRECT, SpgistPage.PLACEHOLDER,
                                blknoInner, offnumInner, redirectXid);
                    }
                }
                int at = innerAt + innerSize;
                for (int i = 0; i < nInsert; i++) {
                    int size = SpgistPage.leafSize(main, at);
                    boolean toDest = main[select + i] != 0;
                    if (toDest != src) {
                        SpgistPage.addOrReplace(page, main, at, size, toInsert[i]);
                    }
                    at += size;
                }
            }
            case 2 -> {
                if (initInner) {
                    SpgistPage.init(page, storesNulls ? SpgistPage.SPGIST_NULLS : 0);
                }
                SpgistPage.addOrReplace(page, main, innerAt, innerSize, offnumInner);
                if (innerIsParent) {
                    SpgistPage.updateNodeLink(page, offnumParent, nodeI, blknoInner, offnumInner);
                }
            }
            case 3 -> SpgistPage.updateNodeLink(page, offnumParent, nodeI, blknoInner, offnumInner);
            default -> throw RmgrRedo.noBlock(ROUTINE, r, b);
        }
    }

    /** {@code spgRedoVacuumLeaf}. */
    private static void vacuumLeaf(DecodedRecord r, BlockReference b, byte[] page, byte[] main) {
        RmgrRedo.requireBlock(ROUTINE, r, b, 0);
        int nDead = Page.u16(main, 0);
        int nPlaceholder = Page.u16(main, 2);
        int nMove = Page.u16(main, 4);
        int nChain = Page.u16(main, 6);
        int redirectXid = Page.u32(main, 8);
        int at = VACUUM_LEAF_OFFSETS;
        int[] toDead = offsets(main, at, nDead);
        at += 2 * nDead;
        int[] toPlaceholder = offsets(main, at, nPlaceholder);
        at += 2 * nPlaceholder;
        int[] moveSrc = offsets(main, at, nMove);
        at += 2 * nMove;
        int[] moveDest = offsets(main, at, nMove);
        at += 2 * nMove;
        int[] chainSrc = offsets(main, at, nChain);
        at += 2 * nChain;
        int[] chainDest = offsets(main, at, nChain);

        SpgistPage.multiDelete(page, toDead, SpgistPage.DEAD, SpgistPage.DEAD, -1, 0, redirectXid);
        SpgistPage.multiDelete(page, toPlaceholder, SpgistPage.PLACEHOLDER, SpgistPage.PLACEHOLDER, -1, 0,
                redirectXid);
        for (int i = 0; i < nMove; i++) { // swap the line pointers (vacuumLeafPage)
            SpgistPage.item(page, moveSrc[i]);
            SpgistPage.item(page, moveDest[i]);
            int src = ItemId.word(page, moveSrc[i]);
            Page.putU32(page, ItemId.position(moveSrc[i]), ItemId.word(page, moveDest[i]));
            Page.putU32(page, ItemId.position(moveDest[i]), src);
        }
        SpgistPage.multiDelete(page, moveSrc, SpgistPage.PLACEHOLDER, SpgistPage.PLACEHOLDER, -1, 0, redirectXid);
        for (int i = 0; i < nChain; i++) {
            SpgistPage.setNextOffset(page, chainSrc[i], chainDest[i]);
        }
    }

    /** {@code spgRedoVacuumRedirect}. */
    private static void vacuumRedirect(DecodedRecord r, BlockReference b, byte[] page, byte[] main) {
        RmgrRedo.requireBlock(ROUTINE, r, b, 0);
        int n = Page.u16(main, 0);
        int firstPlaceholder = Page.u16(main, 2);
        int[] items = offsets(main, VACUUM_REDIRECT_OFFSETS, n);
        for (int off : items) {
            int at = SpgistPage.item(page, off);
            if (SpgistPage.tupstate(page, at) != SpgistPage.REDIRECT) {
                throw new IllegalStateException("SP-GiST VACUUM_REDIRECT: item " + off + " is not a redirect");
            }
            page[at] = (byte) ((page[at] & ~3) | SpgistPage.PLACEHOLDER);
            SpgistPage.setItemPointer(page, at + 6, -1, 0);
        }
        SpgistPage.setNRedirection(page, SpgistPage.nRedirection(page) - n);
        SpgistPage.setNPlaceholder(page, SpgistPage.nPlaceholder(page) + n);
        if (firstPlaceholder != 0) {
            int max = Page.maxOffset(page);
            int count = max - firstPlaceholder + 1;
            int[] toDelete = new int[Math.max(count, 0)];
            for (int i = 0; i < toDelete.length; i++) {
                toDelete[i] = firstPlaceholder + i;
            }
            SpgistPage.setNPlaceholder(page, SpgistPage.nPlaceholder(page) - count);
            Page.indexMultiDelete(page, toDelete, toDelete.length);
        }
    }

    /** {@code n} OffsetNumbers (uint16) from {@code at}. */
    private static int[] offsets(byte[] main, int at, int n) {
        if (at + 2 * n > main.length) {
            throw new IllegalStateException("SP-GiST: " + n + " offsets at " + at + " past " + main.length + " bytes");
        }
        int[] o = new int[n];
        for (int i = 0; i < n; i++) {
            o[i] = Page.u16(main, at + 2 * i);
        }
        return o;
    }

    private static int blockNumber(DecodedRecord r, int id) {
        BlockReference ref = r.block(id);
        if (ref == null) {
            throw new IllegalStateException("spg_redo: " + r.recordTypeName() + " without block " + id);
        }
        return (int) ref.blockNumber();
    }



    /**
     * {@code spg_mask}: pd_lsn, the checksum, the hint bits, and the unused space when pd_lower
     * is at least the header (the metapage's too: its pd_lower covers SpGistMetaPageData).
     */
    @Override
    public void mask(byte[] page, long blockNumber) {
        PageMasks.lsnAndChecksum(page);
        PageMasks.hintBits(page);
        if (Page.lower(page) >= Page.HEADER_SIZE) {
            PageMasks.unusedSpace(page);
        }
    }
}
