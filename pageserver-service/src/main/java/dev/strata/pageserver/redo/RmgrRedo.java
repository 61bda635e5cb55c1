package dev.strata.pageserver.redo;

import dev.strata.pgcore.wal.BlockReference;
import dev.strata.pgcore.wal.DecodedRecord;

/**
 * Java redo for one resource manager: what PostgreSQL's {@code rm_redo} does to the pages a
 * record registers, one block at a time (a routine that touches two blocks, like a heap
 * update across pages, is asked once per block). Implementations are stateless.
 */
public interface RmgrRedo {

    /** True if this record type has a routine here (false: the oracle counts it as no-routine). */
    boolean handles(DecodedRecord record);

    /**
     * False if the record registers this block only to lock it during replay
     * (REGBUF_NO_CHANGE, e.g. a hash bucket page held for a cleanup lock): PostgreSQL's redo
     * leaves it as it is, pd_lsn included, so ingest stores nothing for it and redo stamps no
     * LSN on it.
     */
    default boolean changes(DecodedRecord record, BlockReference block) {
        return true;
    }

    /**
     * True if PostgreSQL's redo changes this block also after restoring a full-page image
     * (BLK_RESTORED), because the primary changed it after XLogInsert took the image (a GiST
     * left child's NSN and F_FOLLOW_RIGHT): ingest then applies {@link #redo} to the image it
     * stores, whether the image is a full-page write or a consistency-check image.
     */
    default boolean appliesOnImage(DecodedRecord record, BlockReference block) {
        return false;
    }

    /**
     * Applies the record to one of its blocks, in place.
     *
     * @param page the block's previous version (8 KiB), or an all-zero page when the block
     *             will be initialised ({@link BlockReference#willInit()}) or is read with
     *             RBM_ZERO_ON_ERROR and did not exist; the routine stamps no LSN (callers do)
     * @throws RuntimeException where PostgreSQL would PANIC: the page or the record is not what
     *                          the routine expects
     */
    void redo(DecodedRecord record, BlockReference block, byte[] page);

    /**
     * The {@code rm_mask} PostgreSQL applies to this manager's pages before comparing them
     * ({@code verifyBackupPageConsistency}), in place.
     */
    void mask(byte[] page, long blockNumber);

    /**
     * The error a routine throws where PostgreSQL's redo would PANIC because the record lacks the
     * block the routine needs ({@code XLogRecGetBlockTag} failing): names the routine, the record
     * type and the block id.
     *
     * @param routine PostgreSQL's name for the manager's redo, e.g. {@code "gin_redo"}
     */
    static IllegalStateException noBlock(String routine, DecodedRecord record, BlockReference block) {
        return new IllegalStateException(routine + ": " + record.recordTypeName() + " has no block " + block.id());
    }

    /** Throws {@link #noBlock} unless {@code block} is the record's block {@code id}. */
    static void requireBlock(String routine, DecodedRecord record, BlockReference block, int id) {
        if (block.id() != id) {
            throw noBlock(routine, record, block);
        }
    }
}
