package dev.strata.pageserver.redo.hash;

import dev.strata.pageserver.redo.RmgrRedo;
import dev.strata.pageserver.redo.page.Page;
import dev.strata.pageserver.redo.page.PageMasks;
import dev.strata.pgcore.wal.BlockReference;
import dev.strata.pgcore.wal.DecodedRecord;
import java.util.Arrays;

/**
 * {@code hash_redo} (resource manager 12, access/hash/hash_xlog.c, PostgreSQL 17.6), every
 * record type, one block at a time. The blocks per type (hash_xlog.h; the code, not its
 * comments, for SQUEEZE_PAGE):
 * <ul>
 * <li>INIT_META_PAGE: 0 the metapage, built ({@code _hash_init_metabuffer});</li>
 * <li>INIT_BITMAP_PAGE: 0 the bitmap page, built; 1 the metapage, which lists it;</li>
 * <li>INSERT: 0 the page that gets the tuple (block data) at {@code offnum}; 1 the metapage,
 * {@code hashm_ntuples + 1};</li>
 * <li>ADD_OVFL_PAGE: 0 the new overflow page (block data: its bucket), built and linked back
 * to 1, the page before it, which links forward to 0; 2 (optional) the bitmap page, one bit
 * set; 3 (optional) a new bitmap page, built; 4 the metapage (first free bit, spares, maps);</li>
 * <li>SPLIT_ALLOCATE_PAGE: 0 the old bucket (flag, prevblkno = new bucket); 1 the new bucket,
 * built; 2 the metapage (maxbucket, masks and splitpoint as the flags say);</li>
 * <li>SPLIT_PAGE: 0 always a full-page image, nothing to replay;</li>
 * <li>SPLIT_COMPLETE: 0 and 1 the old and new bucket's flags;</li>
 * <li>MOVE_PAGE_CONTENTS: 0 the primary bucket page, for its lock only; 1 the page that gets
 * the tuples; 2 the page they leave;</li>
 * <li>SQUEEZE_PAGE: 0 the primary bucket page, lock only; 1 the page that gets the freed
 * page's tuples (and its next link, if it is the previous page); 2 the freed overflow page,
 * re-initialised as unused; 3 the page before it, 4 the page after it (links); 5 the bitmap
 * page, one bit cleared; 6 (optional) the metapage's first free bit;</li>
 * <li>DELETE: 0 the primary bucket page, lock only; 1 the page whose tuples go;</li>
 * <li>SPLIT_CLEANUP: 0 the primary bucket page, LH_BUCKET_NEEDS_SPLIT_CLEANUP cleared;</li>
 * <li>UPDATE_META_PAGE: 0 the metapage's {@code hashm_ntuples};</li>
 * <li>VACUUM_ONE_PAGE: 0 the page whose dead tuples go; 1 the metapage's tuple count.</li>
 * </ul>
 * A block registered for its lock only (REGBUF_NO_CHANGE) is left as it is, pd_lsn included:
 * {@link #changes} says which.
 *
 * <p>Layout (hash.h): the special space is HashPageOpaqueData (prevblkno, nextblkno, bucket,
 * flag, page id: 16 bytes); the metapage's HashMetaPageData and a bitmap page's bits start at
 * offset 24.
 */
public final class HashRedo implements RmgrRedo {

    /** PostgreSQL's name for this redo, in errors. */
    private static final String ROUTINE = "hash_redo";

    public static final int XLOG_HASH_INIT_META_PAGE = 0x00;
    public static final int XLOG_HASH_INIT_BITMAP_PAGE = 0x10;
    public static final int XLOG_HASH_INSERT = 0x20;
    public static final int XLOG_HASH_ADD_OVFL_PAGE = 0x30;
    public static final int XLOG_HASH_SPLIT_ALLOCATE_PAGE = 0x40;
    public static final int XLOG_HASH_SPLIT_PAGE = 0x50;
    public static final int XLOG_HASH_SPLIT_COMPLETE = 0x60;
    public static final int XLOG_HASH_MOVE_PAGE_CONTENTS = 0x70;
    public static final int XLOG_HASH_SQUEEZE_PAGE = 0x80;
    public static final int XLOG_HASH_DELETE = 0x90;
    public static final int XLOG_HASH_SPLIT_CLEANUP = 0xA0;
    public static final int XLOG_HASH_UPDATE_META_PAGE = 0xB0;
    public static final int XLOG_HASH_VACUUM_ONE_PAGE = 0xC0;

    public static final int LH_UNUSED_PAGE = 0;
    public static final int LH_OVERFLOW_PAGE = 1;
    public static final int LH_BUCKET_PAGE = 1 << 1;
    public static final int LH_BITMAP_PAGE = 1 << 2;
    public static final int LH_META_PAGE = 1 << 3;
    public static final int LH_BUCKET_NEEDS_SPLIT_CLEANUP = 1 << 6;
    public static final int LH_PAGE_HAS_DEAD_TUPLES = 1 << 7;
    public static final int LH_PAGE_TYPE = LH_OVERFLOW_PAGE | LH_BUCKET_PAGE | LH_BITMAP_PAGE | LH_META_PAGE;
    public static final int HASHO_PAGE_ID = 0xFF80;
    public static final int HASH_MAGIC = 0x6440640;
    public static final int HASH_VERSION = 4;

    private static final int XLH_SPLIT_META_UPDATE_MASKS = 1;
    private static final int XLH_SPLIT_META_UPDATE_SPLITPOINT = 1 << 1;
    private static final int INVALID = 0xFFFFFFFF;

    /** {@code sizeof(HashPageOpaqueData)}. */
    static final int SPECIAL_SIZE = 16;
    private static final int OPAQUE_PREV = 0;
    private static final int OPAQUE_NEXT = 4;
    private static final int OPAQUE_BUCKET = 8;
    private static final int OPAQUE_FLAG = 12;
    private static final int OPAQUE_PAGE_ID = 14;

    /** {@code PageGetContents}: MAXALIGN(SizeOfPageHeaderData). */
    static final int CONTENTS = 24;
    // HashMetaPageData, from CONTENTS
    static final int META_MAGIC = CONTENTS;
    static final int META_VERSION = CONTENTS + 4;
    static final int META_NTUPLES = CONTENTS + 8;
    static final int META_FFACTOR = CONTENTS + 16;
    static final int META_BSIZE = CONTENTS + 18;
    static final int META_BMSIZE = CONTENTS + 20;
    static final int META_BMSHIFT = CONTENTS + 22;
    static final int META_MAXBUCKET = CONTENTS + 24;
    static final int META_HIGHMASK = CONTENTS + 28;
    static final int META_LOWMASK = CONTENTS + 32;
    static final int META_OVFLPOINT = CONTENTS + 36;
    static final int META_FIRSTFREE = CONTENTS + 40;
    static final int META_NMAPS = CONTENTS + 44;
    static final int META_PROCID = CONTENTS + 48;
    static final int META_SPARES = CONTENTS + 52;
    /** {@code HASH_MAX_SPLITPOINTS}: (32 - 10) * 4 + 10. */
    static final int MAX_SPLITPOINTS = 98;
    static final int META_MAPP = META_SPARES + 4 * MAX_SPLITPOINTS;
    /** {@code HASH_MAX_BITMAPS}: Min(BLCKSZ / 8, 1024). */
    static final int MAX_BITMAPS = 1024;
    /** {@code sizeof(HashMetaPageData)}: 4540 bytes, padded to the double's alignment. */
    static final int META_SIZE = Page.maxAlign(META_MAPP + 4 * MAX_BITMAPS - CONTENTS);

    @Override
    public boolean handles(DecodedRecord record) {
        return (record.info() & 0xF0) <= XLOG_HASH_VACUUM_ONE_PAGE;
    }

    /**
     * False for a block the record registers only to take its lock during replay
     * (REGBUF_NO_CHANGE): the primary bucket page of MOVE_PAGE_CONTENTS, SQUEEZE_PAGE and
     * DELETE, and SQUEEZE_PAGE's write page when it gets no tuples and is not the page before
     * the freed one.
     */
    @Override
    public boolean changes(DecodedRecord r, BlockReference b) {
        int info = r.info() & 0xF0;
        if (info == XLOG_HASH_MOVE_PAGE_CONTENTS || info == XLOG_HASH_DELETE) {
            return b.id() != 0;
        }
        if (info == XLOG_HASH_SQUEEZE_PAGE) {
            if (b.id() == 0) {
                return false;
            }
            if (b.id() == 1) {
                byte[] main = r.mainData();
                return Page.u16(main, 8) > 0 || main[11] != 0;
            }
        }
        return true;
    }

    @Override
    public void redo(DecodedRecord r, BlockReference b, byte[] page) {
        int info = r.info() & 0xF0;
        byte[] main = r.mainData();
        int id = b.id();
        switch (info) {
            case XLOG_HASH_INIT_META_PAGE -> {
                RmgrRedo.requireBlock(ROUTINE, r, b, 0);
                // xl_hash_init_meta_page: double num_tuples, RegProcedure procid, uint16 ffactor
                initMetaPage(page, Double.longBitsToDouble(u64(main, 0)), Page.u32(main, 8), Page.u16(main, 12));
            }
            case XLOG_HASH_INIT_BITMAP_PAGE -> {
                if (id == 0) {
                    initBitmapPage(page, Page.u16(main, 0));
                } else {
                    RmgrRedo.requireBlock(ROUTINE, r, b, 1);
                    int nmaps = Page.u32(page, META_NMAPS);
                    checkMapIndex(nmaps);
                    Page.putU32(page, META_MAPP + 4 * nmaps, Page.u32(page, META_MAXBUCKET) + 1 + 1);
                    Page.putU32(page, META_NMAPS, nmaps + 1);
                }
            }
            case XLOG_HASH_INSERT -> {
                if (id == 0) {
                    byte[] tuple = b.data();
                    Page.addItem(page, tuple, 0, tuple.length, Page.u16(main, 0));
                } else {
                    RmgrRedo.requireBlock(ROUTINE, r, b, 1);
                    addNtuples(page, 1);
                }
            }
            case XLOG_HASH_ADD_OVFL_PAGE -> addOverflowPage(r, b, page, main);
            case XLOG_HASH_SPLIT_ALLOCATE_PAGE -> splitAllocatePage(r, b, page, main);
            case XLOG_HASH_SPLIT_PAGE -> throw new IllegalStateException(
                    "Hash split record did not contain a full-page image");
            case XLOG_HASH_SPLIT_COMPLETE -> {
                // xl_hash_split_complete: old_bucket_flag, new_bucket_flag
                if (id == 0) {
                    setFlag(page, Page.u16(main, 0));
                } else {
                    RmgrRedo.requireBlock(ROUTINE, r, b, 1);
                    setFlag(page, Page.u16(main, 2));
                }
            }
            case XLOG_HASH_MOVE_PAGE_CONTENTS -> {
                // xl_hash_move_page_contents: ntups, is_prim_bucket_same_wrt
                if (id == 1) {
                    addTuples(b, page, Page.u16(main, 0));
                } else if (id == 2) {
                    deleteOffsets(b.data(), page);
                } else {
                    RmgrRedo.requireBlock(ROUTINE, r, b, 0); // the bucket page, for its cleanup lock
                }
            }
            case XLOG_HASH_SQUEEZE_PAGE -> squeezePage(r, b, page, main);
            case XLOG_HASH_DELETE -> {
                // xl_hash_delete: clear_dead_marking, is_primary_bucket_page
                if (id == 1) {
                    deleteOffsets(b.data(), page);
                    if (main[0] != 0) {
                        setFlag(page, flag(page) & ~LH_PAGE_HAS_DEAD_TUPLES);
                    }
                } else {
                    RmgrRedo.requireBlock(ROUTINE, r, b, 0);
                }
            }
            case XLOG_HASH_SPLIT_CLEANUP -> {
                RmgrRedo.requireBlock(ROUTINE, r, b, 0);
                setFlag(page, flag(page) & ~LH_BUCKET_NEEDS_SPLIT_CLEANUP);
            }
            case XLOG_HASH_UPDATE_META_PAGE -> {
                RmgrRedo.requireBlock(ROUTINE, r, b, 0);
                putU64(page, META_NTUPLES, u64(main, 0));
            }
            case XLOG_HASH_VACUUM_ONE_PAGE -> {
                // xl_hash_vacuum_one_page: snapshotConflictHorizon, ntuples, isCatalogRel, offsets from byte 8
                int ntuples = Page.u16(main, 4);
                if (id == 0) {
                    int[] offsets = new int[ntuples];
                    for (int i = 0; i < ntuples; i++) {
                        offsets[i] = Page.u16(main, 8 + 2 * i);
                    }
                    Page.indexMultiDelete(page, offsets, ntuples);
                    setFlag(page, flag(page) & ~LH_PAGE_HAS_DEAD_TUPLES);
                } else {
                    RmgrRedo.requireBlock(ROUTINE, r, b, 1);
                    addNtuples(page, -ntuples);
                }
            }
            default -> throw new IllegalStateException("hash_redo: unknown op code " + info);
        }
    }

    /** {@code hash_xlog_add_ovfl_page}; xl_hash_add_ovfl_page: bmsize (uint16), bmpage_found (bool). */
    private static void addOverflowPage(DecodedRecord r, BlockReference b, byte[] page, byte[] main) {
        switch (b.id()) {
            case 0 -> {
                initBuf(page, INVALID, Page.u32(b.data(), 0), LH_OVERFLOW_PAGE);
                putOpaque(page, OPAQUE_PREV, (int) block(r, 1).blockNumber());
            }
            case 1 -> putOpaque(page, OPAQUE_NEXT, (int) block(r, 0).blockNumber());
            case 2 -> {
                int bit = Page.u32(b.data(), 0);
                int at = CONTENTS + 4 * (bit >>> 5);
                Page.putU32(page, at, Page.u32(page, at) | 1 << (bit & 31));
            }
            case 3 -> initBitmapPage(page, Page.u16(main, 0));
            case 4 -> {
                Page.putU32(page, META_FIRSTFREE, Page.u32(b.data(), 0));
                if (main[2] == 0) { // !bmpage_found
                    int spare = META_SPARES + 4 * checkSplitpoint(Page.u32(page, META_OVFLPOINT));
                    Page.putU32(page, spare, Page.u32(page, spare) + 1);
                    BlockReference newMap = r.block(3);
                    if (newMap != null) {
                        int nmaps = Page.u32(page, META_NMAPS);
                        checkMapIndex(nmaps);
                        Page.putU32(page, META_MAPP + 4 * nmaps, (int) newMap.blockNumber());
                        Page.putU32(page, META_NMAPS, nmaps + 1);
                        Page.putU32(page, spare, Page.u32(page, spare) + 1);
                    }
                }
            }
            default -> throw RmgrRedo.noBlock(ROUTINE, r, b);
        }
    }

    /**
     * {@code hash_xlog_split_allocate_page}; xl_hash_split_allocate_page: new_bucket (uint32),
     * old_bucket_flag, new_bucket_flag (uint16), flags (uint8).
     */
    private static void splitAllocatePage(DecodedRecord r, BlockReference b, byte[] page, byte[] main) {
        int newBucket = Page.u32(main, 0);
        switch (b.id()) {
            case 0 -> {
                setFlag(page, Page.u16(main, 4));
                putOpaque(page, OPAQUE_PREV, newBucket);
            }
            case 1 -> initBuf(page, newBucket, newBucket, Page.u16(main, 6));
            case 2 -> {
                Page.putU32(page, META_MAXBUCKET, newBucket);
                byte[] data = b.data();
                int at = 0;
                int flags = main[8] & 0xFF;
                if ((flags & XLH_SPLIT_META_UPDATE_MASKS) != 0) {
                    Page.putU32(page, META_LOWMASK, Page.u32(data, 0));
                    Page.putU32(page, META_HIGHMASK, Page.u32(data, 4));
                    at = 8;
                }
                if ((flags & XLH_SPLIT_META_UPDATE_SPLITPOINT) != 0) {
                    int ovflpoint = checkSplitpoint(Page.u32(data, at));
                    Page.putU32(page, META_SPARES + 4 * ovflpoint, Page.u32(data, at + 4));
                    Page.putU32(page, META_OVFLPOINT, ovflpoint);
                }
            }
            default -> throw RmgrRedo.noBlock(ROUTINE, r, b);
        }
    }

    /**
     * {@code hash_xlog_squeeze_page}; xl_hash_squeeze_page: prevblkno, nextblkno (uint32),
     * ntups (uint16), is_prim_bucket_same_wrt, is_prev_bucket_same_wrt (bool).
     */
    private void squeezePage(DecodedRecord r, BlockReference b, byte[] page, byte[] main) {
        int prevblkno = Page.u32(main, 0);
        int nextblkno = Page.u32(main, 4);
        int ntups = Page.u16(main, 8);
        boolean prevIsWrite = main[11] != 0;
        switch (b.id()) {
            case 0 -> {
                // the bucket page, for its cleanup lock
            }
            case 1 -> {
                if (!changes(r, b)) {
                    return; // registered for the lock of the primary bucket page only
                }
                if (ntups > 0) {
                    addTuples(b, page, ntups);
                }
                if (prevIsWrite) {
                    putOpaque(page, OPAQUE_NEXT, nextblkno);
                }
            }
            case 2 -> {
                Page.init(page, SPECIAL_SIZE);
                putOpaque(page, OPAQUE_PREV, INVALID);
                putOpaque(page, OPAQUE_NEXT, INVALID);
                putOpaque(page, OPAQUE_BUCKET, INVALID);
                setFlag(page, LH_UNUSED_PAGE);
                Page.putU16(page, Page.special(page) + OPAQUE_PAGE_ID, HASHO_PAGE_ID);
            }
            case 3 -> {
                if (!prevIsWrite) {
                    putOpaque(page, OPAQUE_NEXT, nextblkno);
                }
            }
            case 4 -> putOpaque(page, OPAQUE_PREV, prevblkno);
            case 5 -> {
                int bit = Page.u32(b.data(), 0);
                int at = CONTENTS + 4 * (bit >>> 5);
                Page.putU32(page, at, Page.u32(page, at) & ~(1 << (bit & 31)));
            }
            case 6 -> Page.putU32(page, META_FIRSTFREE, Page.u32(b.data(), 0));
            default -> throw RmgrRedo.noBlock(ROUTINE, r, b);
        }
    }

    /**
     * The tuples of MOVE_PAGE_CONTENTS and SQUEEZE_PAGE: the block data holds {@code ntups}
     * offset numbers, then the tuples, each MAXALIGN(IndexTupleSize) bytes, added at their
     * offsets with that length.
     */
    private static void addTuples(BlockReference b, byte[] page, int ntups) {
        if (ntups == 0) {
            return;
        }
        byte[] data = b.data();
        int at = 2 * ntups;
        int inserted = 0;
        while (at < data.length) {
            if (inserted >= ntups) {
                throw new IllegalStateException("hash redo: more tuples than the " + ntups + " offsets");
            }
            int size = Page.maxAlign(Page.u16(data, at + 6) & 0x1FFF); // IndexTupleSize: t_info & INDEX_SIZE_MASK
            if (size == 0 || at + size > data.length) {
                throw new IllegalStateException("hash redo: tuple of " + size + " bytes at " + at + " of " + data.length);
            }
            Page.addItem(page, data, at, size, Page.u16(data, 2 * inserted));
            at += size;
            inserted++;
        }
        if (inserted != ntups) {
            throw new IllegalStateException("hash redo: " + inserted + " tuples for " + ntups + " offsets");
        }
    }

    /** {@code PageIndexMultiDelete} of the offset numbers a block's data holds (none: nothing). */
    private static void deleteOffsets(byte[] data, byte[] page) {
        int n = data.length / 2;
        if (n == 0) {
            return;
        }
        int[] offsets = new int[n];
        for (int i = 0; i < n; i++) {
            offsets[i] = Page.u16(data, 2 * i);
        }
        Page.indexMultiDelete(page, offsets, n);
    }

    /** {@code _hash_initbuf(buf, max_bucket, num_bucket, flag, initpage=true)}. */
    static void initBuf(byte[] page, int maxBucket, int bucket, int flag) {
        Page.init(page, SPECIAL_SIZE);
        putOpaque(page, OPAQUE_PREV, maxBucket);
        putOpaque(page, OPAQUE_NEXT, INVALID);
        putOpaque(page, OPAQUE_BUCKET, bucket);
        setFlag(page, flag);
        Page.putU16(page, Page.special(page) + OPAQUE_PAGE_ID, HASHO_PAGE_ID);
    }

    /** {@code _hash_initbitmapbuffer(buf, bmsize, initpage=true)}: every bit set, pd_lower past them. */
    static void initBitmapPage(byte[] page, int bmsize) {
        initBuf(page, INVALID, INVALID, LH_BITMAP_PAGE);
        if (CONTENTS + bmsize > Page.SIZE - SPECIAL_SIZE) {
            throw new IllegalStateException("hash bitmap of " + bmsize + " bytes does not fit a page");
        }
        Arrays.fill(page, CONTENTS, CONTENTS + bmsize, (byte) 0xFF);
        Page.setLower(page, CONTENTS + bmsize);
    }

    /** {@code _hash_init_metabuffer(buf, num_tuples, procid, ffactor, initpage=true)}. */
    static void initMetaPage(byte[] page, double numTuples, int procid, int ffactor) {
        if (ffactor == 0) {
            throw new IllegalStateException("hash metapage with fill factor 0");
        }
        double dnumbuckets = numTuples / ffactor;
        int numBuckets;
        if (dnumbuckets <= 2.0) {
            numBuckets = 2;
        } else if (dnumbuckets >= (double) 0x40000000) {
            numBuckets = 0x40000000;
        } else {
            numBuckets = totalBuckets(spareIndex((int) (long) dnumbuckets)); // the uint32 argument truncates
        }
        int spareIndex = spareIndex(numBuckets);
        initBuf(page, INVALID, INVALID, LH_META_PAGE);
        Page.putU32(page, META_MAGIC, HASH_MAGIC);
        Page.putU32(page, META_VERSION, HASH_VERSION);
        putU64(page, META_NTUPLES, Double.doubleToRawLongBits(0.0));
        Page.putU32(page, META_NMAPS, 0);
        Page.putU16(page, META_FFACTOR, ffactor);
        int bsize = Page.SIZE - (CONTENTS + Page.maxAlign(SPECIAL_SIZE)); // HashGetMaxBitmapSize
        Page.putU16(page, META_BSIZE, bsize);
        int lshift = 31 - Integer.numberOfLeadingZeros(bsize); // pg_leftmost_one_pos32
        Page.putU16(page, META_BMSIZE, 1 << lshift);
        Page.putU16(page, META_BMSHIFT, lshift + 3); // + BYTE_TO_BIT
        Page.putU32(page, META_PROCID, procid);
        Page.putU32(page, META_MAXBUCKET, numBuckets - 1);
        int highmask = nextPowerOf2(numBuckets + 1) - 1;
        Page.putU32(page, META_HIGHMASK, highmask);
        Page.putU32(page, META_LOWMASK, highmask >>> 1);
        // spares[] and mapp[] are zero after PageInit
        Page.putU32(page, META_SPARES + 4 * spareIndex, 1);
        Page.putU32(page, META_OVFLPOINT, spareIndex);
        Page.putU32(page, META_FIRSTFREE, 0);
        Page.setLower(page, CONTENTS + META_SIZE);
    }

    /** {@code _hash_spareindex}: the splitpoint phase of bucket count {@code numBucket} (uint32). */
    static int spareIndex(int numBucket) {
        int group = ceilLog2(numBucket);
        if (group < 10) {
            return group;
        }
        int phases = 10 + ((group - 10) << 2);
        phases += ((numBucket - 1) >>> (group - 3)) & 3;
        return phases;
    }

    /** {@code _hash_get_totalbuckets}. */
    static int totalBuckets(int phase) {
        if (phase < 10) {
            return 1 << phase;
        }
        int group = 10 + ((phase - 10) >>> 2);
        int total = 1 << (group - 1);
        int within = ((phase - 10) & 3) + 1;
        total += ((1 << (group - 1)) >>> 2) * within;
        return total;
    }

    /** {@code pg_ceil_log2_32} of a uint32. */
    private static int ceilLog2(int num) {
        if (Integer.compareUnsigned(num, 2) < 0) {
            return 0;
        }
        return 32 - Integer.numberOfLeadingZeros(num - 1);
    }

    /** {@code pg_nextpower2_32}: the smallest power of 2 at or above {@code num} (> 0). */
    private static int nextPowerOf2(int num) {
        return (num & (num - 1)) == 0 ? num : Integer.highestOneBit(num) << 1;
    }

    private static void addNtuples(byte[] page, double delta) {
        double n = Double.longBitsToDouble(u64(page, META_NTUPLES));
        putU64(page, META_NTUPLES, Double.doubleToRawLongBits(n + delta));
    }

    private static void checkMapIndex(int nmaps) {
        if (nmaps < 0 || nmaps >= MAX_BITMAPS) {
            throw new IllegalStateException("hash metapage: " + nmaps + " bitmap pages already");
        }
    }

    private static int checkSplitpoint(int point) {
        if (point < 0 || point >= MAX_SPLITPOINTS) {
            throw new IllegalStateException("hash metapage: splitpoint " + point);
        }
        return point;
    }

    private static int flag(byte[] page) {
        return Page.u16(page, opaque(page) + OPAQUE_FLAG);
    }

    private static void setFlag(byte[] page, int flag) {
        Page.putU16(page, opaque(page) + OPAQUE_FLAG, flag);
    }

    private static void putOpaque(byte[] page, int field, int value) {
        Page.putU32(page, opaque(page) + field, value);
    }

    /** {@code HashPageGetOpaque}, checked: a page without the hash special space is not a hash page. */
    private static int opaque(byte[] page) {
        int special = Page.special(page);
        if (special != Page.SIZE - SPECIAL_SIZE) {
            throw new IllegalStateException("not a hash page: pd_special " + special);
        }
        return special;
    }

    private static BlockReference block(DecodedRecord r, int id) {
        BlockReference b = r.block(id);
        if (b == null) {
            throw new IllegalStateException("hash_redo: " + r.recordTypeName() + " without block " + id);
        }
        return b;
    }



    static long u64(byte[] b, int off) {
        return (Page.u32(b, off) & 0xFFFFFFFFL) | (long) Page.u32(b, off + 4) << 32;
    }

    static void putU64(byte[] b, int off, long v) {
        Page.putU32(b, off, (int) v);
        Page.putU32(b, off + 4, (int) (v >>> 32));
    }

    /**
     * {@code hash_mask}: pd_lsn, the checksum, the hint bits, the unused space; all the content
     * of an unused page (pd_lower and pd_upper too); the line pointer flags of bucket and
     * overflow pages (LP_DEAD is set without WAL); the LH_PAGE_HAS_DEAD_TUPLES flag.
     */
    @Override
    public void mask(byte[] page, long blockNumber) {
        PageMasks.lsnAndChecksum(page);
        PageMasks.hintBits(page);
        PageMasks.unusedSpace(page);
        int special = Page.special(page);
        if (special + SPECIAL_SIZE > Page.SIZE) {
            throw new IllegalStateException("hash_mask: pd_special " + special);
        }
        int flag = Page.u16(page, special + OPAQUE_FLAG);
        int type = flag & LH_PAGE_TYPE;
        if (type == LH_UNUSED_PAGE) {
            Arrays.fill(page, Page.HEADER_SIZE, Page.SIZE, (byte) 0); // mask_page_content
            Page.setLower(page, 0);
            Page.setUpper(page, 0);
        } else if (type == LH_BUCKET_PAGE || type == LH_OVERFLOW_PAGE) {
            PageMasks.lpFlags(page);
        }
        // after mask_page_content the special space reads as zeros, as in PostgreSQL
        Page.putU16(page, special + OPAQUE_FLAG, Page.u16(page, special + OPAQUE_FLAG) & ~LH_PAGE_HAS_DEAD_TUPLES);
    }
}
