package dev.strata.pageserver.redo.heap;

import static dev.strata.pageserver.redo.heap.HeapRecords.*;

import dev.strata.pageserver.redo.RmgrRedo;
import dev.strata.pageserver.redo.page.HeapTuple;
import dev.strata.pageserver.redo.page.ItemId;
import dev.strata.pageserver.redo.page.Page;
import dev.strata.pageserver.redo.page.PageMasks;
import dev.strata.pageserver.redo.page.Xids;
import dev.strata.pgcore.wal.BlockReference;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.ForkNumber;

/**
 * {@code heap2_redo} (resource manager 9, access/heap/heapam.c) on one block at a time: the
 * three PG 17 prune/freeze records, VISIBLE (the heap page's PD_ALL_VISIBLE and the
 * visibility-map page's bits), MULTI_INSERT and LOCK_UPDATED. NEW_CID changes no page (it is
 * for logical decoding) and registers none. REWRITE (logical rewrite mapping files) has no
 * routine here.
 */
public final class Heap2Redo implements RmgrRedo {

    /** Visibility-map geometry (visibilitymap.c): 2 bits per heap block after a 24-byte header. */
    static final int VM_MAPSIZE = Page.SIZE - Page.maxAlign(Page.HEADER_SIZE);
    static final long VM_HEAPBLOCKS_PER_PAGE = VM_MAPSIZE * 4L;

    @Override
    public boolean handles(DecodedRecord r) {
        return switch (r.info() & XLOG_HEAP_OPMASK) {
            case XLOG_HEAP2_PRUNE_ON_ACCESS, XLOG_HEAP2_PRUNE_VACUUM_SCAN, XLOG_HEAP2_PRUNE_VACUUM_CLEANUP,
                 XLOG_HEAP2_VISIBLE, XLOG_HEAP2_MULTI_INSERT, XLOG_HEAP2_LOCK_UPDATED, XLOG_HEAP2_NEW_CID -> true;
            default -> false;
        };
    }

    @Override
    public void mask(byte[] page, long blockNumber) {
        PageMasks.heap(page, blockNumber);
    }

    @Override
    public void redo(DecodedRecord r, BlockReference b, byte[] page) {
        switch (r.info() & XLOG_HEAP_OPMASK) {
            case XLOG_HEAP2_PRUNE_ON_ACCESS, XLOG_HEAP2_PRUNE_VACUUM_SCAN, XLOG_HEAP2_PRUNE_VACUUM_CLEANUP ->
                    pruneFreeze(r, b, page);
            case XLOG_HEAP2_VISIBLE -> visible(r, b, page);
            case XLOG_HEAP2_MULTI_INSERT -> multiInsert(r, b, page);
            case XLOG_HEAP2_LOCK_UPDATED -> lockUpdated(r, b, page);
            case XLOG_HEAP2_NEW_CID -> throw new IllegalStateException("heap2 NEW_CID registers no block");
            default -> throw new IllegalStateException("no heap2 redo for info 0x" + Integer.toHexString(r.info()));
        }
    }

    /**
     * {@code heap_xlog_prune_freeze} with {@code heap_page_prune_execute}: line pointers become
     * redirects, dead or unused; then the page is defragmented, or, without the cleanup lock
     * (VACUUM's second pass only turns dead into unused), only the line pointer array is cut;
     * then the freeze plans rewrite xmax, xvac and the infomasks of their tuples.
     */
    private static void pruneFreeze(DecodedRecord r, BlockReference b, byte[] page) {
        Prune rec = Prune.decode(r.mainDataBuffer());
        PruneData d = PruneData.decode(b.dataBuffer(), rec.flags());
        int[] red = d.redirected();
        for (int i = 0; i < red.length; i += 2) {
            checkOffset(page, red[i]);
            ItemId.setRedirect(page, red[i], red[i + 1]);
        }
        for (int off : d.nowDead()) {
            checkOffset(page, off);
            ItemId.setDead(page, off);
        }
        for (int off : d.nowUnused()) {
            checkOffset(page, off);
            ItemId.setUnused(page, off);
        }
        if (red.length > 0 || d.nowDead().length > 0 || d.nowUnused().length > 0) {
            if (!rec.cleanupLock()) {
                Page.truncateLinePointerArray(page);
            } else {
                Page.repairFragmentation(page);
            }
        }
        int next = 0;
        for (FreezePlan plan : d.plans()) {
            for (int i = 0; i < plan.ntuples(); i++) {
                int off = d.frozenOffsets()[next++];
                checkOffset(page, off);
                int t = ItemId.offset(page, off);
                HeapTuple.setXmax(page, t, plan.xmax());
                if ((plan.frzflags() & XLH_FREEZE_XVAC) != 0) {
                    HeapTuple.setField3(page, t, Xids.FROZEN);
                }
                if ((plan.frzflags() & XLH_INVALID_XVAC) != 0) {
                    HeapTuple.setField3(page, t, Xids.INVALID);
                }
                HeapTuple.setInfomask(page, t, plan.infomask());
                HeapTuple.setInfomask2(page, t, plan.infomask2());
            }
        }
    }

    /**
     * {@code heap_xlog_visible}: block 1 is the heap page (PD_ALL_VISIBLE set), block 0 the
     * visibility-map page (initialised if new, then the heap block's bits OR-ed in).
     */
    private static void visible(DecodedRecord r, BlockReference b, byte[] page) {
        Visible rec = Visible.decode(r.mainDataBuffer());
        if (b.id() == 1) {
            Page.setFlag(page, Page.PD_ALL_VISIBLE, true);
            return;
        }
        if (b.forkNumber() != ForkNumber.VISIBILITY_MAP.ordinal()) {
            throw new IllegalStateException("VISIBLE block 0 is fork " + b.forkNumber() + ", not the visibility map");
        }
        BlockReference heap = r.block(1);
        if (heap == null) {
            throw new IllegalStateException("VISIBLE without the heap block 1");
        }
        if (Page.isNew(page)) {
            Page.init(page, 0);
        }
        setVisibilityBits(page, heap.blockNumber(), rec.flags() & VISIBILITYMAP_VALID_BITS);
    }

    /** {@code visibilitymap_set} on the map page that holds {@code heapBlock}'s bits. */
    static void setVisibilityBits(byte[] vmPage, long heapBlock, int bits) {
        int mapByte = (int) ((heapBlock % VM_HEAPBLOCKS_PER_PAGE) / 4);
        int mapOffset = (int) ((heapBlock % 4) * 2);
        int at = Page.maxAlign(Page.HEADER_SIZE) + mapByte;
        vmPage[at] = (byte) (vmPage[at] | (bits << mapOffset));
    }

    /** {@code heap_xlog_multi_insert}. */
    private static void multiInsert(DecodedRecord r, BlockReference b, byte[] page) {
        boolean init = (r.info() & XLOG_HEAP_INIT_PAGE) != 0;
        MultiInsert rec = MultiInsert.decode(r.mainDataBuffer(), init);
        if (init) {
            Page.init(page, 0);
        }
        byte[] data = b.data();
        int pos = 0;
        for (int i = 0; i < rec.ntuples(); i++) {
            int offnum = init ? 1 + i : rec.offsets()[i];
            HeapPageOps.checkInsertOffset(page, offnum);
            pos = (pos + 1) & ~1; // xl_multi_insert_tuple is SHORTALIGNed in the block data
            if (pos + SIZE_OF_MULTI_INSERT_TUPLE > data.length) {
                throw new IllegalStateException("multi-insert tuple " + i + " header beyond the block data");
            }
            int len = u16(data, pos);
            int infomask2 = u16(data, pos + 2);
            int infomask = u16(data, pos + 4);
            int hoff = data[pos + 6] & 0xFF;
            pos += SIZE_OF_MULTI_INSERT_TUPLE;
            if (pos + len > data.length) {
                throw new IllegalStateException("multi-insert tuple " + i + " of " + len + " bytes beyond the block data");
            }
            byte[] t = HeapPageOps.newTuple(len, infomask2, infomask, hoff, (int) r.xid());
            System.arraycopy(data, pos, t, HeapTuple.HEADER_SIZE, len);
            pos += len;
            HeapTuple.setCtid(t, 0, b.blockNumber(), offnum);
            Page.addItemOverwrite(page, t, 0, t.length, offnum, true);
        }
        if (pos != data.length) {
            throw new IllegalStateException("total tuple length mismatch: used " + pos + " of " + data.length);
        }
        if ((rec.flags() & XLH_INSERT_ALL_VISIBLE_CLEARED) != 0) {
            Page.setFlag(page, Page.PD_ALL_VISIBLE, false);
        }
        if ((rec.flags() & XLH_INSERT_ALL_FROZEN_SET) != 0) {
            Page.setFlag(page, Page.PD_ALL_VISIBLE, true);
        }
    }

    /** {@code heap_xlog_lock_updated}: like LOCK on an older tuple version, cmax and ctid untouched. */
    private static void lockUpdated(DecodedRecord r, BlockReference b, byte[] page) {
        Lock rec = Lock.decode(r.mainDataBuffer());
        int t = HeapPageOps.normalTuple(page, rec.offnum());
        HeapPageOps.clearXmaxBits(page, t);
        HeapPageOps.fixInfomaskFromInfobits(page, t, rec.infobits());
        HeapTuple.setXmax(page, t, rec.xmax());
    }

    private static void checkOffset(byte[] page, int off) {
        if (off < 1 || off > Page.maxOffset(page)) {
            throw new IllegalStateException("offset " + off + " beyond the line pointer array (" + Page.maxOffset(page) + ")");
        }
    }
}
