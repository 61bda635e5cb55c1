package dev.strata.pageserver.redo.sequence;

import dev.strata.pageserver.redo.RmgrRedo;
import dev.strata.pageserver.redo.page.Page;
import dev.strata.pageserver.redo.page.PageMasks;
import dev.strata.pgcore.wal.BlockReference;
import dev.strata.pgcore.wal.DecodedRecord;

/**
 * {@code seq_redo} (resource manager 15, commands/sequence.c, PostgreSQL 17.6). Its one record
 * type, LOG, rewrites the sequence's only page from scratch: {@code PageInit} with a 4-byte
 * special space holding SEQ_MAGIC, and the tuple that follows {@code xl_seq_rec} (a
 * RelFileLocator, 12 bytes) in main data as item 1. The tuple is the one nextval() logs,
 * values fetched ahead; the page the primary keeps afterwards differs, but not the image
 * taken when the record was written.
 */
public final class SequenceRedo implements RmgrRedo {

    public static final int XLOG_SEQ_LOG = 0x00;
    public static final int SEQ_MAGIC = 0x1717;
    /** {@code sizeof(xl_seq_rec)}. */
    private static final int SIZE_OF_SEQ_REC = 12;

    @Override
    public boolean handles(DecodedRecord r) {
        return (r.info() & 0xF0) == XLOG_SEQ_LOG;
    }

    @Override
    public void redo(DecodedRecord r, BlockReference b, byte[] page) {
        if ((r.info() & 0xF0) != XLOG_SEQ_LOG || b.id() != 0) {
            throw new IllegalStateException("seq_redo: unknown op code or block " + b.id());
        }
        byte[] main = r.mainData();
        if (main.length <= SIZE_OF_SEQ_REC) {
            throw new IllegalStateException("seq_redo: record of " + main.length + " bytes has no tuple");
        }
        Page.init(page, 4);
        Page.putU32(page, Page.special(page), SEQ_MAGIC);
        Page.addItem(page, main, SIZE_OF_SEQ_REC, main.length - SIZE_OF_SEQ_REC, 1);
    }

    /** {@code seq_mask}: only pd_lsn, the checksum and the unused space; no hint bits. */
    @Override
    public void mask(byte[] page, long blockNumber) {
        PageMasks.lsnAndChecksum(page);
        PageMasks.unusedSpace(page);
    }
}
