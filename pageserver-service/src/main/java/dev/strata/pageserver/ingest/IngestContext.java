package dev.strata.pageserver.ingest;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.Value;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.wal.BlockReference;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.RelFileLocator;

import java.util.HashMap;
import java.util.Map;

/**
 * What a {@link RmgrIngest} may do while one record is ingested: put page images and
 * relation sizes at the record's end LSN, and read the latest value of a key (for the few
 * operations the pageserver applies itself). One per timeline, used by the ingest thread only.
 *
 * <p>A record's puts are held until it has been handled completely ({@link #commit}); a
 * record that stops ingest halfway leaves nothing in the store, so no flush can make half a
 * record durable and no restart can resume after a record that was never applied.
 *
 * <p>Relation sizes are cached here (the store is the truth; the cache only saves a
 * lookup per block write) and written as a 4-byte little-endian block count.
 */
public final class IngestContext {

    /** Sizes, pages and small values here are all images, so reading them never needs redo. */
    private static final dev.strata.pageserver.layer.Redo NO_REDO = (key, base, records) -> {
        throw new IllegalStateException("ingest wrote a record value for " + key.describe() + "; only images exist yet");
    };

    private final LayerStore store;
    private final TimelineBase base;
    private final boolean dataChecksums;
    private final Map<Key, Long> sizes = new HashMap<>();
    /** This record's puts in order (a key put twice keeps its last value) and sizes, until commit. */
    private final Map<Key, Value> pending = new java.util.LinkedHashMap<>();
    private final Map<Key, Long> pendingSizes = new HashMap<>();
    private DecodedRecord record;
    private long skippedOnUnseenForks;

    IngestContext(LayerStore store, TimelineBase base, boolean dataChecksums) {
        this.store = store;
        this.base = base;
        this.dataChecksums = dataChecksums;
    }

    public TimelineBase base() {
        return base;
    }

    /** Counts a change skipped because it touched a fork older than a {@link TimelineBase#WAL_ONLY} start. */
    void skippedOnUnseenFork() {
        skippedOnUnseenForks++;
    }

    long skippedOnUnseenForks() {
        return skippedOnUnseenForks;
    }

    void begin(DecodedRecord r) {
        this.record = r;
        pending.clear();
        pendingSizes.clear();
    }

    /** Writes the record's puts to the store: it has been handled completely. */
    void commit() {
        for (Map.Entry<Key, Value> e : pending.entrySet()) {
            store.put(e.getKey(), lsn(), e.getValue());
        }
        sizes.putAll(pendingSizes);
        pending.clear();
        pendingSizes.clear();
    }

    /** Forgets the record's puts: it could not be handled. */
    void abandon() {
        pending.clear();
        pendingSizes.clear();
    }

    /** The end LSN of the record being ingested: every put of it goes here. */
    public Lsn lsn() {
        return record.endLsn();
    }

    /**
     * The default for block references: each must carry an image (a full-page write, or a
     * consistency-check image, which is the page after the change) and becomes that page;
     * a reference without one stops ingest, since this manager has no Java redo yet.
     */
    public void putImagesOrStop(DecodedRecord r) {
        for (BlockReference b : r.blocks()) {
            if (!b.hasImage()) {
                throw new IngestException(r, "block " + b.locator() + " fork " + b.forkNumber() + " blk " + b.blockNumber()
                        + " is modified without a page image, and this record type has no redo in the pageserver yet"
                        + " (enable wal_consistency_checking for it, or implement it)");
            }
            putImage(b);
        }
    }

    /** Puts the block's restored image, stamped with the record's end LSN, and extends the fork if needed. */
    public void putImage(BlockReference b) {
        byte[] page = b.restoredPage();
        PageHeader.setLsn(page, lsn());
        putPage(b.locator(), b.forkNumber(), b.blockNumber(), page);
    }

    /**
     * Puts a whole page (pd_lsn already as the caller wants) and extends the fork to cover it.
     * With data checksums the checksum is recomputed, as a compute verifies it on every read.
     */
    public void putPage(RelFileLocator rel, int fork, long blockNo, byte[] page) {
        if (page.length != PageHeader.PAGE_SIZE) {
            throw new IllegalArgumentException("page of " + page.length + " bytes");
        }
        if (dataChecksums && !isZero(page)) { // an all-zero page is valid without a checksum (PageIsVerified)
            PageChecksum.set(page, blockNo);
        }
        pending.put(blockKey(rel, fork, blockNo), new Value.Image(page));
        long size = relationSize(rel, fork);
        if (blockNo + 1 > Math.max(size, 0)) {
            // Redo extends a fork when a block beyond its end is written (XLogReadBufferExtended),
            // and the blocks in between become zero pages. Write those zeros explicitly: after a
            // truncation the store still holds the old versions of those blocks, and they must
            // not come back. An unknown size (a fork never seen: VM and FSM forks are created
            // without WAL) has no old versions of ours to hide.
            for (long gap = Math.max(size, 0); size >= 0 && gap < blockNo; gap++) {
                pending.put(blockKey(rel, fork, gap), new Value.Image(new byte[PageHeader.PAGE_SIZE]));
            }
            setRelationSize(rel, fork, blockNo + 1);
        }
    }

    /** The latest page of a block, or null if ingest never wrote it. */
    public byte[] latestPage(RelFileLocator rel, int fork, long blockNo) {
        Key k = blockKey(rel, fork, blockNo);
        if (pending.get(k) instanceof Value.Image img) { // changed earlier in this record
            return img.bytes().clone();
        }
        byte[] page = store.getValue(k, store.lastRecordLsn(), NO_REDO);
        return page == null ? null : page.clone();
    }

    /** The fork's size in blocks, or -1 if no size was ever written (the fork does not exist for us). */
    public long relationSize(RelFileLocator rel, int fork) {
        Key k = sizeKey(rel, fork);
        Long cached = pendingSizes.get(k);
        if (cached == null) {
            cached = sizes.get(k);
        }
        if (cached != null) {
            return cached;
        }
        byte[] v = store.getValue(k, store.lastRecordLsn(), NO_REDO);
        long size = v == null ? -1 : PageHeader.u32(v, 0);
        sizes.put(k, size);
        return size;
    }

    public void setRelationSize(RelFileLocator rel, int fork, long blocks) {
        if (blocks < 0 || blocks > 0xFFFF_FFFEL) {
            throw new IllegalArgumentException("relation size " + blocks);
        }
        Key k = sizeKey(rel, fork);
        byte[] v = new byte[4];
        PageHeader.putU32(v, 0, (int) blocks);
        pending.put(k, new Value.Image(v));
        pendingSizes.put(k, blocks);
    }

    private static boolean isZero(byte[] page) {
        for (byte b : page) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    public static Key blockKey(RelFileLocator rel, int fork, long blockNo) {
        return Key.relationBlock((int) rel.spcOid(), (int) rel.dbOid(), (int) rel.relNumber(), fork, (int) blockNo);
    }

    public static Key sizeKey(RelFileLocator rel, int fork) {
        return Key.relationSize((int) rel.spcOid(), (int) rel.dbOid(), (int) rel.relNumber(), fork);
    }

    /** Decodes a relation size value (4 bytes, little-endian block count). */
    public static long decodeSize(byte[] value) {
        return PageHeader.u32(value, 0);
    }
}
