package dev.strata.pageserver.redo.heap;

import static dev.strata.pageserver.redo.heap.HeapRecords.*;

import dev.strata.pageserver.redo.RmgrRedo;
import dev.strata.pageserver.redo.page.HeapTuple;
import dev.strata.pageserver.redo.page.ItemId;
import dev.strata.pageserver.redo.page.Page;
import dev.strata.pageserver.redo.page.PageMasks;
import dev.strata.pgcore.wal.BlockReference;
import dev.strata.pgcore.wal.DecodedRecord;

/**
 * {@code heap_redo} (resource manager 10, access/heap/heapam.c) on one block at a time:
 * INSERT, DELETE, UPDATE, HOT_UPDATE, CONFIRM, LOCK and INPLACE. TRUNCATE changes no page
 * (its effect is logged by smgr records) and registers none.
 *
 * <p>What redo also does outside the registered pages, clearing visibility-map bits, stays in
 * ingest ({@code HeapIngest}); the free space map is not WAL-logged and not kept here.
 */
public final class HeapRedo implements RmgrRedo {

    @Override
    public boolean handles(DecodedRecord r) {
        return switch (r.info() & XLOG_HEAP_OPMASK) {
            case XLOG_HEAP_INSERT, XLOG_HEAP_DELETE, XLOG_HEAP_UPDATE, XLOG_HEAP_HOT_UPDATE, XLOG_HEAP_CONFIRM,
                 XLOG_HEAP_LOCK, XLOG_HEAP_INPLACE, XLOG_HEAP_TRUNCATE -> true;
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
            case XLOG_HEAP_INSERT -> insert(r, b, page);
            case XLOG_HEAP_DELETE -> delete(r, b, page);
            case XLOG_HEAP_UPDATE -> update(r, b, page, false);
            case XLOG_HEAP_HOT_UPDATE -> update(r, b, page, true);
            case XLOG_HEAP_CONFIRM -> confirm(r, b, page);
            case XLOG_HEAP_LOCK -> lock(r, b, page);
            case XLOG_HEAP_INPLACE -> inplace(r, b, page);
            case XLOG_HEAP_TRUNCATE -> throw new IllegalStateException("heap TRUNCATE registers no block");
            default -> throw new IllegalStateException("no heap redo for info 0x" + Integer.toHexString(r.info()));
        }
    }

    /** {@code heap_xlog_insert}. */
    private static void insert(DecodedRecord r, BlockReference b, byte[] page) {
        Insert rec = Insert.decode(r.mainDataBuffer());
        if ((r.info() & XLOG_HEAP_INIT_PAGE) != 0) {
            Page.init(page, 0);
        }
        HeapPageOps.checkInsertOffset(page, rec.offnum());
        byte[] data = b.data();
        if (data.length <= SIZE_OF_HEAP_HEADER) {
            throw new IllegalStateException("insert block data of " + data.length + " bytes has no tuple");
        }
        int body = data.length - SIZE_OF_HEAP_HEADER;
        byte[] t = HeapPageOps.newTuple(body, u16(data, 0), u16(data, 2), data[4] & 0xFF, (int) r.xid());
        System.arraycopy(data, SIZE_OF_HEAP_HEADER, t, HeapTuple.HEADER_SIZE, body);
        HeapTuple.setCtid(t, 0, b.blockNumber(), rec.offnum());
        Page.addItemOverwrite(page, t, 0, t.length, rec.offnum(), true);
        if ((rec.flags() & XLH_INSERT_ALL_VISIBLE_CLEARED) != 0) {
            Page.setFlag(page, Page.PD_ALL_VISIBLE, false);
        }
    }

    /** {@code heap_xlog_delete}. */
    private static void delete(DecodedRecord r, BlockReference b, byte[] page) {
        Delete rec = Delete.decode(r.mainDataBuffer());
        int t = HeapPageOps.normalTuple(page, rec.offnum());
        HeapPageOps.clearXmaxBits(page, t);
        HeapPageOps.setHotUpdated(page, t, false);
        HeapPageOps.fixInfomaskFromInfobits(page, t, rec.infobits());
        if ((rec.flags() & XLH_DELETE_IS_SUPER) == 0) {
            HeapTuple.setXmax(page, t, rec.xmax());
        } else {
            HeapTuple.setXmin(page, t, 0);
        }
        HeapTuple.setCmax(page, t, HeapTuple.FIRST_COMMAND_ID);
        Page.setPrunable(page, (int) r.xid());
        if ((rec.flags() & XLH_DELETE_ALL_VISIBLE_CLEARED) != 0) {
            Page.setFlag(page, Page.PD_ALL_VISIBLE, false);
        }
        if ((rec.flags() & XLH_DELETE_IS_PARTITION_MOVE) != 0) {
            HeapTuple.setCtid(page, t, HeapPageOps.INVALID_BLOCK, HeapTuple.MOVED_PARTITIONS_OFFSET);
        } else {
            HeapTuple.setCtid(page, t, b.blockNumber(), rec.offnum());
        }
    }

    /**
     * {@code heap_xlog_update}: block 0 gets the new tuple; the old tuple is on block 1, or on
     * block 0 too when the record registers no block 1 (then both steps run on this page, old
     * first, and the new tuple may reuse a prefix and suffix of the old one).
     */
    private static void update(DecodedRecord r, BlockReference b, byte[] page, boolean hot) {
        Update rec = Update.decode(r.mainDataBuffer());
        BlockReference newBlock = r.block(0);
        if (newBlock == null) {
            throw new IllegalStateException("update without block 0");
        }
        boolean samePage = r.block(1) == null;
        int oldTuple = -1;
        int oldLen = 0;
        if (b.id() == 1 || samePage) {
            int t = HeapPageOps.normalTuple(page, rec.oldOffnum());
            oldTuple = t;
            oldLen = ItemId.length(page, rec.oldOffnum());
            HeapPageOps.clearXmaxBits(page, t);
            HeapPageOps.setHotUpdated(page, t, hot);
            HeapPageOps.fixInfomaskFromInfobits(page, t, rec.oldInfobits());
            HeapTuple.setXmax(page, t, rec.oldXmax());
            HeapTuple.setCmax(page, t, HeapTuple.FIRST_COMMAND_ID);
            HeapTuple.setCtid(page, t, newBlock.blockNumber(), rec.newOffnum());
            Page.setPrunable(page, (int) r.xid());
            if ((rec.flags() & XLH_UPDATE_OLD_ALL_VISIBLE_CLEARED) != 0) {
                Page.setFlag(page, Page.PD_ALL_VISIBLE, false);
            }
        }
        if (b.id() != 0) {
            return;
        }
        if (!samePage && (r.info() & XLOG_HEAP_INIT_PAGE) != 0) {
            Page.init(page, 0);
        }
        HeapPageOps.checkInsertOffset(page, rec.newOffnum());
        byte[] data = b.data();
        int pos = 0;
        int prefix = 0;
        int suffix = 0;
        if ((rec.flags() & XLH_UPDATE_PREFIX_FROM_OLD) != 0) {
            prefix = u16(data, pos);
            pos += 2;
        }
        if ((rec.flags() & XLH_UPDATE_SUFFIX_FROM_OLD) != 0) {
            suffix = u16(data, pos);
            pos += 2;
        }
        if ((prefix > 0 || suffix > 0) && oldTuple < 0) {
            throw new IllegalStateException("update reuses " + prefix + "+" + suffix
                    + " bytes of an old tuple on another page");
        }
        int infomask2 = u16(data, pos);
        int infomask = u16(data, pos + 2);
        int hoff = data[pos + 4] & 0xFF;
        pos += SIZE_OF_HEAP_HEADER;
        int tuplen = data.length - pos;
        byte[] t = HeapPageOps.newTuple(tuplen + prefix + suffix, infomask2, infomask, hoff, (int) r.xid());
        int out = HeapTuple.HEADER_SIZE;
        if (prefix > 0) {
            int bitmap = hoff - HeapTuple.HEADER_SIZE; // bitmap [+ padding] [+ oid] from the record
            System.arraycopy(data, pos, t, out, bitmap);
            pos += bitmap;
            out += bitmap;
            int oldHoff = HeapTuple.hoff(page, oldTuple);
            System.arraycopy(page, oldTuple + oldHoff, t, out, prefix);
            out += prefix;
            int rest = tuplen - bitmap;
            System.arraycopy(data, pos, t, out, rest);
            out += rest;
        } else {
            System.arraycopy(data, pos, t, out, tuplen);
            out += tuplen;
        }
        if (suffix > 0) {
            System.arraycopy(page, oldTuple + oldLen - suffix, t, out, suffix);
        }
        HeapTuple.setXmax(t, 0, rec.newXmax());
        HeapTuple.setCtid(t, 0, b.blockNumber(), rec.newOffnum());
        Page.addItemOverwrite(page, t, 0, t.length, rec.newOffnum(), true);
        if ((rec.flags() & XLH_UPDATE_NEW_ALL_VISIBLE_CLEARED) != 0) {
            Page.setFlag(page, Page.PD_ALL_VISIBLE, false);
        }
    }

    /** {@code heap_xlog_confirm}: a speculative insertion's ctid becomes its own TID. */
    private static void confirm(DecodedRecord r, BlockReference b, byte[] page) {
        int offnum = offnum(r.mainDataBuffer(), "xl_heap_confirm");
        int t = HeapPageOps.normalTuple(page, offnum);
        HeapTuple.setCtid(page, t, b.blockNumber(), offnum);
    }

    /** {@code heap_xlog_lock}. */
    private static void lock(DecodedRecord r, BlockReference b, byte[] page) {
        Lock rec = Lock.decode(r.mainDataBuffer());
        int t = HeapPageOps.normalTuple(page, rec.offnum());
        HeapPageOps.clearXmaxBits(page, t);
        HeapPageOps.fixInfomaskFromInfobits(page, t, rec.infobits());
        if (HeapTuple.xmaxIsLockedOnly(HeapTuple.infomask(page, t))) {
            HeapPageOps.setHotUpdated(page, t, false);
            HeapTuple.setCtid(page, t, b.blockNumber(), rec.offnum());
        }
        HeapTuple.setXmax(page, t, rec.xmax());
        HeapTuple.setCmax(page, t, HeapTuple.FIRST_COMMAND_ID);
    }

    /** {@code heap_xlog_inplace}: the tuple's data (after t_hoff) overwritten, same length. */
    private static void inplace(DecodedRecord r, BlockReference b, byte[] page) {
        int offnum = offnum(r.mainDataBuffer(), "xl_heap_inplace");
        int t = HeapPageOps.normalTuple(page, offnum);
        int hoff = HeapTuple.hoff(page, t);
        int oldLen = ItemId.length(page, offnum) - hoff;
        byte[] data = b.data();
        if (oldLen != data.length) {
            throw new IllegalStateException("wrong tuple length: in-place " + data.length + " bytes over " + oldLen);
        }
        System.arraycopy(data, 0, page, t + hoff, data.length);
    }
}
