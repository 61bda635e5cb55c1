package dev.strata.pageserver.redo.generic;

import dev.strata.pageserver.redo.RmgrRedo;
import dev.strata.pageserver.redo.page.Page;
import dev.strata.pageserver.redo.page.PageMasks;
import dev.strata.pgcore.wal.BlockReference;
import dev.strata.pgcore.wal.DecodedRecord;
import java.util.Arrays;

/**
 * {@code generic_redo} (resource manager 20, access/transam/generic_xlog.c, PostgreSQL 17.6):
 * the WAL of extensions that use the generic WAL API (contrib/bloom in PostgreSQL itself). A
 * record has one type and up to four blocks. A block registered with
 * {@code GENERIC_XLOG_FULL_IMAGE} carries a full-page write (restored as it is, nothing to
 * replay); every other block carries a delta as its block data: fragments of
 * {@code {uint16 offset, uint16 length, length bytes}}, each copied to the page at its offset.
 * Then, as {@code generic_redo} does, the hole pd_lower..pd_upper is zeroed: the delta says
 * nothing about it and {@code GenericXLogFinish} leaves it zero on the primary.
 */
public final class GenericRedo implements RmgrRedo {

    /** {@code FRAGMENT_HEADER_SIZE}: two OffsetNumbers. */
    private static final int FRAGMENT_HEADER_SIZE = 4;

    @Override
    public boolean handles(DecodedRecord record) {
        return true;
    }

    @Override
    public void redo(DecodedRecord record, BlockReference block, byte[] page) {
        byte[] delta = block.hasData() ? block.data() : new byte[0];
        applyDelta(page, delta);
        int lower = Page.lower(page);
        int upper = Page.upper(page);
        if (lower > upper || upper > Page.SIZE) {
            // memset with a negative length would be undefined behaviour in PostgreSQL; refuse.
            throw new IllegalStateException("generic_redo: pd_lower " + lower + " above pd_upper " + upper
                    + " after the delta of block " + block.id());
        }
        Arrays.fill(page, lower, upper, (byte) 0);
    }

    /** {@code applyPageRedo}: copies each fragment of the delta to its offset. */
    static void applyDelta(byte[] page, byte[] delta) {
        int pos = 0;
        while (pos < delta.length) {
            if (pos + FRAGMENT_HEADER_SIZE > delta.length) {
                throw new IllegalStateException("generic_redo: fragment header cut short at " + pos
                        + " of a " + delta.length + "-byte delta");
            }
            int offset = Page.u16(delta, pos);
            int length = Page.u16(delta, pos + 2);
            pos += FRAGMENT_HEADER_SIZE;
            if (pos + length > delta.length || offset + length > Page.SIZE) {
                throw new IllegalStateException("generic_redo: fragment of " + length + " bytes at page offset "
                        + offset + " does not fit (delta " + delta.length + " bytes, at " + pos + ")");
            }
            System.arraycopy(delta, pos, page, offset, length);
            pos += length;
        }
    }

    /** {@code generic_mask}: pd_lsn, the checksum and pd_lower..pd_upper. */
    @Override
    public void mask(byte[] page, long blockNumber) {
        PageMasks.lsnAndChecksum(page);
        PageMasks.unusedSpace(page);
    }
}
