package dev.strata.pageserver.redo.btree;

import static dev.strata.pageserver.redo.btree.BtreePage.*;
import static dev.strata.pageserver.redo.btree.BtreeRecords.*;

import dev.strata.pageserver.redo.RmgrRedo;
import dev.strata.pageserver.redo.page.ItemId;
import dev.strata.pageserver.redo.page.Page;
import dev.strata.pgcore.wal.BlockReference;
import dev.strata.pgcore.wal.DecodedRecord;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * {@code btree_redo} (resource manager 11, access/nbtree/nbtxlog.c, PostgreSQL 17.6) one
 * block at a time. Which block id is which page, per record type:
 * <ul>
 * <li>INSERT_LEAF / INSERT_UPPER / INSERT_META / INSERT_POST: 0 the page inserted into; 1 the
 * child whose split this finishes (upper, meta: INCOMPLETE_SPLIT cleared); 2 the metapage
 * (meta: rebuilt from {@code xl_btree_metadata});</li>
 * <li>SPLIT_L / SPLIT_R: 0 the left (original) page, rebuilt in item order; 1 the new right page,
 * rebuilt from the tuples the record carries; 2 the old right sibling (its left link); 3 the
 * child whose split this finishes;</li>
 * <li>DEDUP, VACUUM, DELETE: 0 the leaf;</li>
 * <li>MARK_PAGE_HALFDEAD: 0 the leaf (rebuilt half-dead), 1 its parent (downlink removed);</li>
 * <li>UNLINK_PAGE(_META): 0 the target (rebuilt deleted), 1 left sibling, 2 right sibling, 3 the
 * half-dead leaf of the subtree (rebuilt), 4 the metapage;</li>
 * <li>NEWROOT: 0 the root (rebuilt), 1 the left child (INCOMPLETE_SPLIT cleared), 2 the metapage;</li>
 * <li>META_CLEANUP: 0 the metapage. REUSE_PAGE registers no block (a hot-standby conflict only).</li>
 * </ul>
 * Where PostgreSQL PANICs or ERRORs in redo, these throw.
 */
public final class BtreeRedo implements RmgrRedo {

    @Override
    public boolean handles(DecodedRecord r) {
        return (r.info() & 0xF0) <= XLOG_BTREE_META_CLEANUP;
    }

    @Override
    public void mask(byte[] page, long blockNumber) {
        BtreePage.mask(page, blockNumber);
    }

    @Override
    public void redo(DecodedRecord r, BlockReference b, byte[] page) {
        int info = r.info() & 0xF0;
        int id = b.id();
        switch (info) {
            case XLOG_BTREE_INSERT_LEAF, XLOG_BTREE_INSERT_UPPER, XLOG_BTREE_INSERT_META, XLOG_BTREE_INSERT_POST -> {
                switch (id) {
                    case 0 -> insert(r, b, page, info == XLOG_BTREE_INSERT_POST);
                    case 1 -> clearIncompleteSplit(page);
                    case 2 -> restoreMeta(b, page);
                    default -> unexpected(r, id);
                }
            }
            case XLOG_BTREE_SPLIT_L, XLOG_BTREE_SPLIT_R -> {
                switch (id) {
                    case 0 -> splitLeft(r, b, page, info == XLOG_BTREE_SPLIT_L);
                    case 1 -> splitRight(r, b, page);
                    case 2 -> BtreePage.setPrev(page, (int) block(r, 1).blockNumber());
                    case 3 -> clearIncompleteSplit(page);
                    default -> unexpected(r, id);
                }
            }
            case XLOG_BTREE_DEDUP -> {
                only(r, id, 0);
                dedup(r, b, page);
            }
            case XLOG_BTREE_VACUUM -> {
                only(r, id, 0);
                deleteItems(Counts.vacuum(r.mainDataBuffer()), b, page);
            }
            case XLOG_BTREE_DELETE -> {
                only(r, id, 0);
                deleteItems(Counts.delete(r.mainDataBuffer()), b, page);
            }
            case XLOG_BTREE_MARK_PAGE_HALFDEAD -> markHalfDead(r, id, page);
            case XLOG_BTREE_UNLINK_PAGE, XLOG_BTREE_UNLINK_PAGE_META -> unlink(r, b, page, info);
            case XLOG_BTREE_NEWROOT -> {
                switch (id) {
                    case 0 -> newRoot(r, b, page);
                    case 1 -> clearIncompleteSplit(page);
                    case 2 -> restoreMeta(b, page);
                    default -> unexpected(r, id);
                }
            }
            case XLOG_BTREE_META_CLEANUP -> {
                only(r, id, 0);
                restoreMeta(b, page);
            }
            case XLOG_BTREE_REUSE_PAGE -> throw new IllegalStateException("btree REUSE_PAGE registers no block");
            default -> throw new IllegalStateException("btree_redo: unknown op code 0x" + Integer.toHexString(info));
        }
    }

    // ------------------------------------------------------------ shared steps

    /**
     * {@code _bt_restore_meta}: the metapage rebuilt from scratch from the block's
     * {@code xl_btree_metadata}; last_cleanup_num_heap_tuples is -1 (no longer kept), and
     * pd_lower goes just past the metadata so that a compressed image keeps it.
     */
    static void restoreMeta(BlockReference b, byte[] page) {
        Metadata m = Metadata.decode(ByteBuffer.wrap(b.data()).order(ByteOrder.LITTLE_ENDIAN));
        BtreePage.init(page);
        int md = Page.HEADER_SIZE;
        Page.putU32(page, md, BTREE_MAGIC);
        Page.putU32(page, md + 4, m.version());
        Page.putU32(page, md + 8, m.root());
        Page.putU32(page, md + 12, m.level());
        Page.putU32(page, md + 16, m.fastroot());
        Page.putU32(page, md + 20, m.fastlevel());
        Page.putU32(page, md + 24, m.lastCleanupNumDelpages());
        long minusOne = Double.doubleToRawLongBits(-1.0);
        Page.putU32(page, md + 32, (int) minusOne);
        Page.putU32(page, md + 36, (int) (minusOne >>> 32));
        page[md + 40] = (byte) (m.allequalimage() ? 1 : 0);
        BtreePage.setFlags(page, BTP_META);
        Page.setLower(page, META_END);
    }

    /** {@code _bt_clear_incomplete_split}. */
    private static void clearIncompleteSplit(byte[] page) {
        BtreePage.setFlags(page, BtreePage.flags(page) & ~BTP_INCOMPLETE_SPLIT);
    }

    /**
     * {@code _bt_restore_page}: the tuples a record carries are a copy of a page's pd_upper..
     * pd_special, highest item number first (lowest address); each is MAXALIGNed. They are added
     * last first, so item n ends up where it was.
     */
    private static void restorePage(byte[] page, byte[] from) {
        int n = 0;
        int[] starts = new int[from.length / INDEX_TUPLE_HEADER + 1];
        int[] sizes = new int[starts.length];
        for (int pos = 0; pos < from.length; ) {
            if (pos + INDEX_TUPLE_HEADER > from.length) {
                throw new IllegalStateException("_bt_restore_page: truncated tuple at " + pos);
            }
            int size = Page.maxAlign(tupleSize(from, pos));
            if (size == 0) {
                throw new IllegalStateException("_bt_restore_page: empty tuple at " + pos);
            }
            starts[n] = pos;
            sizes[n] = size;
            n++;
            pos += size;
        }
        for (int i = n - 1; i >= 0; i--) {
            Page.addItem(page, from, starts[i], sizes[i], n - i);
        }
    }

    // ------------------------------------------------------------ insert

    /**
     * {@code btree_xlog_insert} on block 0. A plain insertion adds the tuple at offnum. An
     * INSERT_POST (the new tuple's heap TID falls inside an existing posting list, just before
     * offnum) starts with the postingoff: {@code _bt_swap_posting} is repeated, the posting list
     * is rewritten in place and the new item inserted carries the posting list's old last TID.
     */
    private static void insert(DecodedRecord r, BlockReference b, byte[] page, boolean posting) {
        int offnum = insertOffnum(r.mainDataBuffer());
        byte[] data = b.data();
        if (!posting) {
            Page.addItem(page, data, 0, data.length, offnum);
            return;
        }
        int postingoff = Page.u16(data, 0);
        byte[] newitem = new byte[data.length - 2];
        System.arraycopy(data, 2, newitem, 0, newitem.length);
        int oposting = BtreePage.item(page, offnum - 1);
        byte[] nposting = swapPosting(newitem, page, oposting, postingoff);
        System.arraycopy(nposting, 0, page, oposting, Page.maxAlign(tupleSize(nposting, 0)));
        if (tupleSize(newitem, 0) != newitem.length) {
            throw new IllegalStateException("posting split new item of " + tupleSize(newitem, 0) + " bytes, record has "
                    + newitem.length);
        }
        Page.addItem(page, newitem, 0, newitem.length, offnum);
    }

    /**
     * {@code _bt_swap_posting} (nbtdedup.c): returns a copy of the posting list at
     * {@code oposting} with {@code newitem}'s heap TID inserted at {@code postingoff} (the
     * later TIDs move right, the last falls off), and gives {@code newitem} that last TID.
     */
    static byte[] swapPosting(byte[] newitem, byte[] page, int oposting, int postingoff) {
        if (!isPosting(page, oposting)) {
            throw new IllegalStateException("posting split on a tuple that is no posting list");
        }
        int nhtids = nPosting(page, oposting);
        if (!(postingoff > 0 && postingoff < nhtids)) {
            throw new IllegalStateException("posting list tuple with " + nhtids + " items cannot be split at offset "
                    + postingoff);
        }
        byte[] nposting = copyTuple(page, oposting);
        int list = postingOffset(nposting, 0);
        int replace = list + postingoff * TID_SIZE;
        System.arraycopy(nposting, replace, nposting, replace + TID_SIZE, (nhtids - postingoff - 1) * TID_SIZE);
        System.arraycopy(newitem, 0, nposting, replace, TID_SIZE);
        // the max heap TID of the original posting list (BTreeTupleGetMaxHeapTID)
        System.arraycopy(page, oposting + list + (nhtids - 1) * TID_SIZE, newitem, 0, TID_SIZE);
        return nposting;
    }

    // ------------------------------------------------------------ split

    /** {@code btree_xlog_split}, the new right page: initialised, then the record's tuples. */
    private static void splitRight(DecodedRecord r, BlockReference b, byte[] page) {
        Split s = Split.decode(r.mainDataBuffer());
        BlockReference sibling = r.block(2);
        BtreePage.init(page);
        BtreePage.setPrev(page, (int) block(r, 0).blockNumber());
        BtreePage.setNext(page, sibling == null ? P_NONE : (int) sibling.blockNumber());
        BtreePage.setLevel(page, s.level());
        BtreePage.setFlags(page, s.level() == 0 ? BTP_LEAF : 0);
        BtreePage.setCycleId(page, 0);
        restorePage(page, b.data());
    }

    /**
     * {@code btree_xlog_split}, the left (original) page: rebuilt on a fresh page that keeps the
     * special space, in item order as {@code _bt_split} builds it: the left high key from the
     * record, then the original items before firstrightoff, with the new item (newitemonleft)
     * at newitemoff and a posting list split's rewritten posting list in place of the old one.
     */
    private static void splitLeft(DecodedRecord r, BlockReference b, byte[] orig, boolean newItemOnLeft) {
        Split s = Split.decode(r.mainDataBuffer());
        byte[] data = b.data();
        int pos = 0;
        byte[] newitem = null;
        byte[] nposting = null;
        int newitemsz = 0;
        int replacePostingOff = 0; // InvalidOffsetNumber
        if (newItemOnLeft || s.postingoff() != 0) {
            newitemsz = Page.maxAlign(tupleSize(data, 0));
            newitem = new byte[newitemsz];
            System.arraycopy(data, 0, newitem, 0, newitemsz);
            pos += newitemsz;
            if (s.postingoff() != 0) {
                replacePostingOff = s.newitemoff() - 1;
                nposting = swapPosting(newitem, orig, BtreePage.item(orig, replacePostingOff), s.postingoff());
            }
        }
        int hikeyPos = pos;
        int hikeySize = Page.maxAlign(tupleSize(data, pos));
        pos += hikeySize;
        if (pos != data.length) {
            throw new IllegalStateException("split left block data: " + (data.length - pos) + " bytes left over");
        }
        byte[] left = new byte[Page.SIZE];
        Page.init(left, Page.SIZE - Page.special(orig));
        System.arraycopy(orig, Page.special(orig), left, Page.special(left), Page.SIZE - Page.special(orig));
        Page.addItem(left, data, hikeyPos, hikeySize, P_HIKEY);
        int leftoff = P_HIKEY + 1;
        int off;
        for (off = BtreePage.firstDataKey(orig); off < s.firstrightoff(); off++) {
            if (off == replacePostingOff) {
                Page.addItem(left, nposting, 0, Page.maxAlign(tupleSize(nposting, 0)), leftoff++);
                continue; // not the old posting list
            } else if (newItemOnLeft && off == s.newitemoff()) {
                Page.addItem(left, newitem, 0, newitemsz, leftoff++);
            }
            Page.addItem(left, orig, BtreePage.item(orig, off), ItemId.length(orig, off), leftoff++);
        }
        if (newItemOnLeft && off == s.newitemoff()) {
            Page.addItem(left, newitem, 0, newitemsz, leftoff++);
        }
        System.arraycopy(left, 0, orig, 0, Page.SIZE); // PageRestoreTempPage
        BtreePage.setFlags(orig, BTP_INCOMPLETE_SPLIT | (s.level() == 0 ? BTP_LEAF : 0));
        BtreePage.setNext(orig, (int) block(r, 1).blockNumber());
        BtreePage.setCycleId(orig, 0);
    }

    // ------------------------------------------------------------ dedup

    /**
     * {@code btree_xlog_dedup}: the deduplication pass repeated from the intervals in block 0's
     * data ({@code BTDedupInterval}: baseoff u16, nitems u16), on a fresh page keeping the
     * special space: the high key, then each interval's items merged into one posting list
     * ({@code _bt_dedup_start_pending / save_htid / finish_pending, _bt_form_posting}), every
     * other item as it is. BTP_HAS_GARBAGE is cleared.
     */
    private static void dedup(DecodedRecord r, BlockReference b, byte[] page) {
        int nintervals = dedupIntervals(r.mainDataBuffer());
        byte[] intervals = b.data();
        if (intervals.length < nintervals * 4) {
            throw new IllegalStateException("dedup: " + nintervals + " intervals in " + intervals.length + " bytes");
        }
        int minoff = BtreePage.firstDataKey(page);
        int maxoff = Page.maxOffset(page);
        byte[] out = new byte[Page.SIZE];
        Page.init(out, Page.SIZE - Page.special(page));
        System.arraycopy(page, Page.special(page), out, Page.special(out), Page.SIZE - Page.special(page));
        if (!BtreePage.isRightmost(page)) {
            Page.addItem(out, page, BtreePage.item(page, P_HIKEY), ItemId.length(page, P_HIKEY), P_HIKEY);
        }
        Pending state = new Pending(page);
        for (int off = minoff; off <= maxoff; off++) {
            int itup = BtreePage.item(page, off);
            if (off == minoff) {
                state.start(itup, off);
            } else if (state.nintervals < nintervals && state.baseoff == Page.u16(intervals, state.nintervals * 4)
                    && state.nitems < Page.u16(intervals, state.nintervals * 4 + 2)) {
                if (!state.save(itup)) {
                    throw new IllegalStateException("deduplication failed to add heap tid to pending posting list");
                }
            } else {
                state.finish(out);
                state.start(itup, off);
            }
        }
        state.finish(out);
        if (state.nintervals != nintervals) {
            throw new IllegalStateException("dedup formed " + state.nintervals + " posting lists, record has "
                    + nintervals);
        }
        BtreePage.setFlags(out, BtreePage.flags(out) & ~BTP_HAS_GARBAGE);
        System.arraycopy(out, 0, page, 0, Page.SIZE);
    }

    /** {@code BTDedupStateData}, the part redo uses: the pending posting list being formed. */
    private static final class Pending {
        private final byte[] page;
        private final byte[] htids = new byte[MAX_ITEM_SIZE];
        private int base;
        private int baseoff;
        private int basetupsize;
        private int nhtids;
        private int nitems;
        private int nintervals;

        Pending(byte[] page) {
            this.page = page;
        }

        /** {@code _bt_dedup_start_pending}. */
        void start(int itup, int off) {
            if (!isPosting(page, itup)) {
                System.arraycopy(page, itup, htids, 0, TID_SIZE);
                nhtids = 1;
                basetupsize = tupleSize(page, itup);
            } else {
                nhtids = nPosting(page, itup);
                System.arraycopy(page, itup + postingOffset(page, itup), htids, 0, nhtids * TID_SIZE);
                basetupsize = postingOffset(page, itup);
            }
            nitems = 1;
            base = itup;
            baseoff = off;
        }

        /** {@code _bt_dedup_save_htid}, with redo's maxpostingsize ({@code BTMaxItemSize}). */
        boolean save(int itup) {
            int n;
            int from;
            if (!isPosting(page, itup)) {
                n = 1;
                from = itup;
            } else {
                n = nPosting(page, itup);
                from = itup + postingOffset(page, itup);
            }
            if (Page.maxAlign(basetupsize + (nhtids + n) * TID_SIZE) > MAX_ITEM_SIZE) {
                return false;
            }
            System.arraycopy(page, from, htids, nhtids * TID_SIZE, n * TID_SIZE);
            nhtids += n;
            nitems++;
            return true;
        }

        /** {@code _bt_dedup_finish_pending}: the base as it is, or a new posting list. */
        void finish(byte[] out) {
            int tupoff = Page.maxOffset(out) + 1;
            if (nitems == 1) {
                Page.addItem(out, page, base, tupleSize(page, base), tupoff);
            } else {
                byte[] fin = formPosting(page, base, htids, nhtids);
                Page.addItem(out, fin, 0, fin.length, tupoff);
                nintervals++;
            }
            nhtids = 0;
            nitems = 0;
        }
    }

    /**
     * {@code _bt_form_posting}: the base's key (up to its posting list, or all of it) followed
     * by the TIDs, MAXALIGNed and zero-padded; with one TID a plain tuple carrying it.
     */
    static byte[] formPosting(byte[] src, int base, byte[] htids, int nhtids) {
        int keysize = isPosting(src, base) ? postingOffset(src, base) : tupleSize(src, base);
        int newsize = nhtids > 1 ? Page.maxAlign(keysize + nhtids * TID_SIZE) : keysize;
        byte[] t = new byte[newsize];
        System.arraycopy(src, base, t, 0, keysize);
        setInfo(t, 0, (info(t, 0) & ~INDEX_SIZE_MASK) | newsize);
        if (nhtids > 1) {
            setPosting(t, 0, nhtids, keysize);
            System.arraycopy(htids, 0, t, keysize, nhtids * TID_SIZE);
        } else {
            setInfo(t, 0, info(t, 0) & ~INDEX_ALT_TID_MASK);
            System.arraycopy(htids, 0, t, 0, TID_SIZE);
        }
        return t;
    }

    // ------------------------------------------------------------ vacuum, delete

    /**
     * {@code btree_xlog_vacuum} and {@code btree_xlog_delete} on block 0, whose data is the
     * deleted offsets (u16 each), the updated offsets, then per updated posting list an
     * {@code xl_btree_update} (ndeletedtids u16, then that many u16 positions in the list).
     * Updates first ({@code btree_xlog_updates}: {@code _bt_update_posting} and
     * {@code PageIndexTupleOverwrite}), then {@code PageIndexMultiDelete}; BTP_HAS_GARBAGE is
     * cleared.
     */
    private static void deleteItems(Counts c, BlockReference b, byte[] page) {
        byte[] d = b.data();
        int pos = c.ndeleted() * 2;
        int updates = pos + c.nupdated() * 2;
        for (int i = 0; i < c.nupdated(); i++) {
            int off = Page.u16(d, pos + i * 2);
            int ndeleted = Page.u16(d, updates);
            byte[] t = updatePosting(page, BtreePage.item(page, off), d, updates + 2, ndeleted);
            Page.indexTupleOverwrite(page, off, t, t.length);
            updates += 2 + ndeleted * 2;
        }
        if (c.ndeleted() > 0) {
            int[] offs = new int[c.ndeleted()];
            for (int i = 0; i < offs.length; i++) {
                offs[i] = Page.u16(d, i * 2);
            }
            Page.indexMultiDelete(page, offs, offs.length);
        }
        BtreePage.setFlags(page, BtreePage.flags(page) & ~BTP_HAS_GARBAGE);
    }

    /** {@code _bt_update_posting}: the posting list without the TIDs at the given (ascending) positions. */
    static byte[] updatePosting(byte[] page, int orig, byte[] d, int deletetids, int ndeleted) {
        if (!isPosting(page, orig)) {
            throw new IllegalStateException("vacuum update of a tuple that is no posting list");
        }
        int nOrig = nPosting(page, orig);
        int nhtids = nOrig - ndeleted;
        if (nhtids <= 0) {
            throw new IllegalStateException("update deletes " + ndeleted + " of " + nOrig + " TIDs");
        }
        int keysize = postingOffset(page, orig);
        int newsize = nhtids > 1 ? Page.maxAlign(keysize + nhtids * TID_SIZE) : keysize;
        byte[] t = new byte[newsize];
        System.arraycopy(page, orig, t, 0, keysize);
        setInfo(t, 0, (info(t, 0) & ~INDEX_SIZE_MASK) | newsize);
        int out;
        if (nhtids > 1) {
            setPosting(t, 0, nhtids, keysize);
            out = keysize;
        } else {
            setInfo(t, 0, info(t, 0) & ~INDEX_ALT_TID_MASK);
            out = 0;
        }
        int del = 0;
        int ui = 0;
        for (int i = 0; i < nOrig; i++) {
            if (del < ndeleted && Page.u16(d, deletetids + del * 2) == i) {
                del++;
                continue;
            }
            System.arraycopy(page, orig + keysize + i * TID_SIZE, t, out + ui * TID_SIZE, TID_SIZE);
            ui++;
        }
        if (ui != nhtids || del != ndeleted) {
            throw new IllegalStateException("posting list update kept " + ui + " of " + nhtids + " TIDs");
        }
        return t;
    }

    // ------------------------------------------------------------ page deletion

    /**
     * {@code btree_xlog_mark_page_halfdead}: in the parent (block 1) the downlink at poffset
     * takes the next item's downlink and the next item goes; the leaf (block 0) is rebuilt as an
     * empty half-dead page whose high key points at the top parent.
     */
    private static void markHalfDead(DecodedRecord r, int id, byte[] page) {
        MarkHalfDead m = MarkHalfDead.decode(r.mainDataBuffer());
        if (id == 1) {
            int next = m.poffset() + 1;
            int rightsib = tidBlock(page, BtreePage.item(page, next));
            setTidBlock(page, BtreePage.item(page, m.poffset()), rightsib);
            Page.indexTupleDelete(page, next);
        } else if (id == 0) {
            halfDeadLeaf(page, m.leftblk(), m.rightblk(), m.topparent());
        } else {
            unexpected(r, id);
        }
    }

    /** A half-dead leaf from scratch, with the dummy high key that links the top parent. */
    private static void halfDeadLeaf(byte[] page, int left, int right, int topparent) {
        BtreePage.init(page);
        BtreePage.setPrev(page, left);
        BtreePage.setNext(page, right);
        BtreePage.setLevel(page, 0);
        BtreePage.setFlags(page, BTP_HALF_DEAD | BTP_LEAF);
        BtreePage.setCycleId(page, 0);
        byte[] trunc = new byte[INDEX_TUPLE_HEADER];
        // BTreeTupleSetTopParent: the block in t_tid, no key attributes (offset 0), ALT_TID set
        setInfo(trunc, 0, INDEX_TUPLE_HEADER | INDEX_ALT_TID_MASK);
        setTidBlock(trunc, 0, topparent);
        setTidOffset(trunc, 0, 0);
        Page.addItem(page, trunc, 0, INDEX_TUPLE_HEADER, P_HIKEY);
    }

    /** {@code btree_xlog_unlink_page}. */
    private static void unlink(DecodedRecord r, BlockReference b, byte[] page, int info) {
        Unlink u = Unlink.decode(r.mainDataBuffer());
        switch (b.id()) {
            case 0 -> {
                BtreePage.init(page);
                BtreePage.setPrev(page, u.leftsib());
                BtreePage.setNext(page, u.rightsib());
                BtreePage.setLevel(page, u.level());
                BtreePage.setDeleted(page, u.safexid());
                if (u.level() == 0) {
                    BtreePage.setFlags(page, BtreePage.flags(page) | BTP_LEAF);
                }
                BtreePage.setCycleId(page, 0);
            }
            case 1 -> BtreePage.setNext(page, u.rightsib());
            case 2 -> BtreePage.setPrev(page, u.leftsib());
            case 3 -> halfDeadLeaf(page, u.leafleftsib(), u.leafrightsib(), u.leaftopparent());
            case 4 -> {
                if (info != XLOG_BTREE_UNLINK_PAGE_META) {
                    unexpected(r, 4);
                }
                restoreMeta(b, page);
            }
            default -> unexpected(r, b.id());
        }
    }

    /** {@code btree_xlog_newroot}, block 0: a root page from scratch, with the record's tuples above level 0. */
    private static void newRoot(DecodedRecord r, BlockReference b, byte[] page) {
        NewRoot n = NewRoot.decode(r.mainDataBuffer());
        BtreePage.init(page);
        BtreePage.setFlags(page, BTP_ROOT | (n.level() == 0 ? BTP_LEAF : 0));
        BtreePage.setPrev(page, P_NONE);
        BtreePage.setNext(page, P_NONE);
        BtreePage.setLevel(page, n.level());
        BtreePage.setCycleId(page, 0);
        if (n.level() > 0) {
            restorePage(page, b.data());
        }
    }

    // ------------------------------------------------------------ helpers

    private static BlockReference block(DecodedRecord r, int id) {
        BlockReference b = r.block(id);
        if (b == null) {
            throw new IllegalStateException(r.recordTypeName() + " without block " + id);
        }
        return b;
    }

    private static void only(DecodedRecord r, int id, int expected) {
        if (id != expected) {
            unexpected(r, id);
        }
    }

    private static void unexpected(DecodedRecord r, int id) {
        throw new IllegalStateException("btree " + r.recordTypeName() + " has no block " + id);
    }
}
