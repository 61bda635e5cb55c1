package dev.strata.pageserver.redo.page;

import java.util.Arrays;

/**
 * The standard PostgreSQL page ({@code PageHeaderData}, storage/bufpage.h) as redo changes
 * it: header fields, {@code PageInit}, {@code PageAddItem} in the overwrite form heap redo
 * uses, {@code PageRepairFragmentation} and {@code PageTruncateLinePointerArray}
 * (storage/page/bufpage.c). Static helpers over an 8 KiB little-endian byte array.
 *
 * <p>Header layout: pd_lsn (8) at 0, pd_checksum (2) at 8, pd_flags (2) at 10, pd_lower (2)
 * at 12, pd_upper (2) at 14, pd_special (2) at 16, pd_pagesize_version (2) at 18,
 * pd_prune_xid (4) at 20; line pointers from 24 ({@link ItemId}).
 *
 * <p>Where PostgreSQL would PANIC or ERROR on a corrupt page, these throw
 * {@link IllegalStateException}: for redo that is a routine or a base page gone wrong.
 */
public final class Page {

    public static final int SIZE = 8192;
    /** {@code SizeOfPageHeaderData}. */
    public static final int HEADER_SIZE = 24;
    /** {@code MAXIMUM_ALIGNOF} on every 64-bit platform PostgreSQL supports. */
    public static final int MAXALIGN = 8;
    /** {@code PG_PAGE_LAYOUT_VERSION}. */
    public static final int LAYOUT_VERSION = 4;

    public static final int PD_HAS_FREE_LINES = 0x0001;
    public static final int PD_PAGE_FULL = 0x0002;
    public static final int PD_ALL_VISIBLE = 0x0004;

    public static final int OFF_CHECKSUM = 8;
    public static final int OFF_FLAGS = 10;
    public static final int OFF_LOWER = 12;
    public static final int OFF_UPPER = 14;
    public static final int OFF_SPECIAL = 16;
    public static final int OFF_PAGESIZE_VERSION = 18;
    public static final int OFF_PRUNE_XID = 20;

    private Page() {
    }

    // ------------------------------------------------------------ header fields

    public static int lower(byte[] p) {
        return u16(p, OFF_LOWER);
    }

    public static int upper(byte[] p) {
        return u16(p, OFF_UPPER);
    }

    public static int special(byte[] p) {
        return u16(p, OFF_SPECIAL);
    }

    public static int flags(byte[] p) {
        return u16(p, OFF_FLAGS);
    }

    public static void setLower(byte[] p, int v) {
        putU16(p, OFF_LOWER, v);
    }

    public static void setUpper(byte[] p, int v) {
        putU16(p, OFF_UPPER, v);
    }

    public static void setFlag(byte[] p, int flag, boolean on) {
        int f = flags(p);
        putU16(p, OFF_FLAGS, on ? f | flag : f & ~flag);
    }

    public static boolean hasFlag(byte[] p, int flag) {
        return (flags(p) & flag) != 0;
    }

    public static int pruneXid(byte[] p) {
        return u32(p, OFF_PRUNE_XID);
    }

    public static void setLsn(byte[] p, long lsn) {
        // pd_lsn is {xlogid, xrecoff}: high 32 bits first, each little-endian.
        putU32(p, 0, (int) (lsn >>> 32));
        putU32(p, 4, (int) lsn);
    }

    public static long lsn(byte[] p) {
        return (Integer.toUnsignedLong(u32(p, 0)) << 32) | Integer.toUnsignedLong(u32(p, 4));
    }

    /** {@code PageIsNew}: pd_upper is 0 (an all-zero, never initialised page). */
    public static boolean isNew(byte[] p) {
        return upper(p) == 0;
    }

    /** {@code PageGetMaxOffsetNumber}: how many line pointers the page has. */
    public static int maxOffset(byte[] p) {
        int lower = lower(p);
        return lower <= HEADER_SIZE ? 0 : (lower - HEADER_SIZE) / ItemId.SIZE;
    }

    /**
     * {@code PageSetPrunable}: remember the oldest xid whose deletions may make the page
     * prunable. The xid comparison is {@code TransactionIdPrecedes} (modulo 2^32 for normal xids).
     */
    public static void setPrunable(byte[] p, int xid) {
        int current = pruneXid(p);
        if (current == 0 || Xids.precedes(xid, current)) {
            putU32(p, OFF_PRUNE_XID, xid);
        }
    }

    /** {@code PageGetFreeSpace}: the gap minus one line pointer, never negative. */
    public static int freeSpace(byte[] p) {
        int space = upper(p) - lower(p);
        return space < ItemId.SIZE ? 0 : space - ItemId.SIZE;
    }

    public static int maxAlign(int len) {
        return (len + MAXALIGN - 1) & ~(MAXALIGN - 1);
    }

    // ------------------------------------------------------------ operations

    /** {@code PageInit(page, BLCKSZ, specialSize)}: zeros, then the empty header. */
    public static void init(byte[] p, int specialSize) {
        int special = maxAlign(specialSize);
        Arrays.fill(p, (byte) 0);
        setLower(p, HEADER_SIZE);
        setUpper(p, SIZE - special);
        putU16(p, OFF_SPECIAL, SIZE - special);
        putU16(p, OFF_PAGESIZE_VERSION, SIZE | LAYOUT_VERSION);
    }

    /**
     * {@code PageAddItem(page, item, size, offnum, overwrite=true, is_heap)}: places the item
     * at {@code offnum}, which must be an unused line pointer below the end or the next new
     * one, copying {@code size} bytes to the top of the free space (MAXALIGNed).
     *
     * @return {@code offnum}; throws where PostgreSQL returns InvalidOffsetNumber (redo PANICs)
     */
    public static int addItemOverwrite(byte[] p, byte[] item, int itemOffset, int size, int offnum,
                                       boolean isHeap) {
        checkPointers(p);
        int limit = maxOffset(p) + 1;
        if (offnum < 1) {
            throw new IllegalStateException("PageAddItem without an offset number");
        }
        if (offnum < limit && (ItemId.isUsed(p, offnum) || ItemId.hasStorage(p, offnum))) {
            throw new IllegalStateException("will not overwrite used line pointer " + offnum);
        }
        if (offnum > limit) {
            throw new IllegalStateException("item offset " + offnum + " beyond " + limit);
        }
        if (isHeap && offnum > HeapTuple.MAX_TUPLES_PER_PAGE) {
            throw new IllegalStateException("more than MaxHeapTuplesPerPage items: " + offnum);
        }
        int lower = offnum == limit ? lower(p) + ItemId.SIZE : lower(p);
        int upper = upper(p) - maxAlign(size);
        if (lower > upper) {
            throw new IllegalStateException("no room for an item of " + size + " bytes (lower " + lower
                    + ", upper " + upper(p) + ")");
        }
        ItemId.setNormal(p, offnum, upper, size);
        System.arraycopy(item, itemOffset, p, upper, size);
        setLower(p, lower);
        setUpper(p, upper);
        return offnum;
    }

    /**
     * {@code PageRepairFragmentation}: moves every item with storage to the end of the page,
     * in line pointer order (which is where {@code compactify_tuples} puts them, presorted or
     * not), marks line pointers without flags as unused, cuts unused pointers off the end of the
     * array and sets PD_HAS_FREE_LINES if unused ones remain. Does not touch the special space.
     */
    public static void repairFragmentation(byte[] p) {
        int lowerBefore = lower(p);
        int upperBefore = upper(p);
        int special = special(p);
        if (lowerBefore < HEADER_SIZE || lowerBefore > upperBefore || upperBefore > special || special > SIZE
                || special != maxAlign(special)) {
            throw new IllegalStateException("corrupted page pointers: lower " + lowerBefore + " upper "
                    + upperBefore + " special " + special);
        }
        int nline = maxOffset(p);
        byte[] copy = null;
        int upper = special;
        int nunused = 0;
        int finalUsed = 0;
        int totalLen = 0;
        for (int i = 1; i <= nline; i++) {
            if (ItemId.isUsed(p, i)) {
                if (ItemId.hasStorage(p, i)) {
                    int off = ItemId.offset(p, i);
                    if (off < upperBefore || off >= special) {
                        throw new IllegalStateException("corrupted line pointer " + i + ": offset " + off);
                    }
                    totalLen += maxAlign(ItemId.length(p, i));
                }
                finalUsed = i;
            } else {
                nunused++;
            }
        }
        if (totalLen > special - lowerBefore) {
            throw new IllegalStateException("corrupted item lengths: total " + totalLen + ", available "
                    + (special - lowerBefore));
        }
        for (int i = 1; i <= nline; i++) {
            if (!ItemId.isUsed(p, i)) {
                ItemId.setUnused(p, i);
                continue;
            }
            if (!ItemId.hasStorage(p, i)) {
                continue;
            }
            int off = ItemId.offset(p, i);
            int alen = maxAlign(ItemId.length(p, i));
            upper -= alen;
            if (off != upper) {
                if (copy == null) {
                    copy = p.clone(); // items may overlap their new places: copy from the old page
                }
                System.arraycopy(copy, off, p, upper, alen);
                ItemId.setOffset(p, i, upper);
            }
        }
        setUpper(p, upper);
        if (finalUsed != nline) {
            int unusedAtEnd = nline - finalUsed;
            nunused -= unusedAtEnd;
            setLower(p, lowerBefore - ItemId.SIZE * unusedAtEnd);
        }
        setFlag(p, PD_HAS_FREE_LINES, nunused > 0);
    }

    /**
     * {@code PageTruncateLinePointerArray}: cuts unused line pointers off the end of the array
     * (always keeping the first) and sets PD_HAS_FREE_LINES if an unused one remains. Used by
     * VACUUM's second pass, which only turns LP_DEAD into LP_UNUSED and moves no tuple.
     */
    public static void truncateLinePointerArray(byte[] p) {
        boolean countDone = false;
        boolean setHint = false;
        int unusedAtEnd = 0;
        for (int i = maxOffset(p); i >= 1; i--) {
            boolean used = ItemId.isUsed(p, i);
            if (!countDone && i > 1) {
                if (!used) {
                    unusedAtEnd++;
                } else {
                    countDone = true;
                }
            } else if (!used) {
                setHint = true;
                break;
            }
        }
        if (unusedAtEnd > 0) {
            setLower(p, lower(p) - ItemId.SIZE * unusedAtEnd);
        }
        setFlag(p, PD_HAS_FREE_LINES, setHint);
    }

    /**
     * {@code PageAddItem(page, item, size, offnum, overwrite=false, is_heap=false)}, the form
     * index redo uses: the item goes to {@code offnum}, which may be any offset up to one past
     * the last; line pointers from {@code offnum} on move up by one. {@code size} bytes are
     * copied to the top of the free space (MAXALIGNed); the pointer's length is {@code size}.
     *
     * @return {@code offnum}; throws where PostgreSQL returns InvalidOffsetNumber
     */
    public static int addItem(byte[] p, byte[] item, int itemOffset, int size, int offnum) {
        checkPointers(p);
        int limit = maxOffset(p) + 1;
        if (offnum < 1 || offnum > limit) {
            throw new IllegalStateException("item offset " + offnum + " out of range 1.." + limit);
        }
        int lower = lower(p) + ItemId.SIZE;
        int upper = upper(p) - maxAlign(size);
        if (lower > upper) {
            throw new IllegalStateException("no room for an item of " + size + " bytes (lower " + lower(p)
                    + ", upper " + upper(p) + ")");
        }
        if (offnum < limit) {
            int from = ItemId.position(offnum);
            System.arraycopy(p, from, p, from + ItemId.SIZE, (limit - offnum) * ItemId.SIZE);
        }
        ItemId.setNormal(p, offnum, upper, size);
        System.arraycopy(item, itemOffset, p, upper, size);
        setLower(p, lower);
        setUpper(p, upper);
        return offnum;
    }

    /**
     * {@code PageIndexTupleDelete}: removes line pointer {@code offnum} (the later ones move
     * down one) and closes the gap its tuple leaves by moving the tuple data below it up; the
     * physical order of the remaining tuples does not change.
     */
    public static void indexTupleDelete(byte[] p, int offnum) {
        checkIndexPointers(p);
        int nline = maxOffset(p);
        if (offnum <= 0 || offnum > nline) {
            throw new IllegalStateException("invalid index offnum: " + offnum);
        }
        int size = ItemId.length(p, offnum);
        int offset = ItemId.offset(p, offnum);
        int upper = upper(p);
        if (offset < upper || offset + size > special(p) || offset != maxAlign(offset)) {
            throw new IllegalStateException("corrupted line pointer: offset " + offset + ", size " + size);
        }
        size = maxAlign(size);
        int next = ItemId.position(offnum + 1);
        int nbytes = lower(p) - next;
        if (nbytes > 0) {
            System.arraycopy(p, next, p, next - ItemId.SIZE, nbytes);
        }
        if (offset > upper) {
            System.arraycopy(p, upper, p, upper + size, offset - upper);
        }
        setUpper(p, upper + size);
        setLower(p, lower(p) - ItemId.SIZE);
        if (lower(p) > HEADER_SIZE) { // !PageIsEmpty
            for (int i = 1; i <= nline - 1; i++) {
                if (ItemId.offset(p, i) <= offset) {
                    ItemId.setOffset(p, i, ItemId.offset(p, i) + size);
                }
            }
        }
    }

    /**
     * {@code PageIndexMultiDelete}: removes the given line pointers (sorted ascending). Up to
     * two go one by one through {@link #indexTupleDelete} (last first), which keeps the
     * physical order; more are removed at once and the remaining tuples are compacted in line
     * pointer order down from pd_special ({@code compactify_tuples}). The two give different
     * layouts, which is why both are here.
     */
    public static void indexMultiDelete(byte[] p, int[] itemnos, int nitems) {
        if (nitems <= 2) {
            for (int i = nitems - 1; i >= 0; i--) {
                indexTupleDelete(p, itemnos[i]);
            }
            return;
        }
        checkIndexPointers(p);
        int upperBefore = upper(p);
        int special = special(p);
        int nline = maxOffset(p);
        int[] keptWords = new int[nline];
        int nused = 0;
        int next = 0;
        int totalLen = 0;
        for (int off = 1; off <= nline; off++) {
            int size = ItemId.length(p, off);
            int offset = ItemId.offset(p, off);
            if (offset < upperBefore || offset + size > special || offset != maxAlign(offset)) {
                throw new IllegalStateException("corrupted line pointer: offset " + offset + ", size " + size);
            }
            if (next < nitems && off == itemnos[next]) {
                next++;
            } else {
                keptWords[nused++] = ItemId.word(p, off);
                totalLen += maxAlign(size);
            }
        }
        if (next != nitems) {
            throw new IllegalStateException("incorrect index offsets supplied");
        }
        if (totalLen > special - lower(p)) {
            throw new IllegalStateException("corrupted item lengths: total " + totalLen);
        }
        for (int i = 0; i < nused; i++) {
            putU32(p, ItemId.position(i + 1), keptWords[i]);
        }
        setLower(p, HEADER_SIZE + nused * ItemId.SIZE);
        if (nused == 0) {
            setUpper(p, special);
            return;
        }
        compactify(p, nused);
    }

    /** {@code compactify_tuples}: items 1..n placed in line pointer order down from pd_special. */
    private static void compactify(byte[] p, int n) {
        byte[] copy = p.clone();
        int upper = special(p);
        for (int i = 1; i <= n; i++) {
            int off = ItemId.offset(copy, i);
            int alen = maxAlign(ItemId.length(copy, i));
            upper -= alen;
            System.arraycopy(copy, off, p, upper, alen);
            ItemId.setOffset(p, i, upper);
        }
        setUpper(p, upper);
    }

    /**
     * {@code PageIndexTupleOverwrite}: replaces the tuple of {@code offnum} by {@code newSize}
     * bytes, moving the tuple data below it by the difference in aligned size; the line
     * pointer keeps its flags.
     */
    public static void indexTupleOverwrite(byte[] p, int offnum, byte[] tuple, int newSize) {
        checkIndexPointers(p);
        int count = maxOffset(p);
        if (offnum <= 0 || offnum > count) {
            throw new IllegalStateException("invalid index offnum: " + offnum);
        }
        int oldSize = ItemId.length(p, offnum);
        int offset = ItemId.offset(p, offnum);
        int upper = upper(p);
        if (offset < upper || offset + oldSize > special(p) || offset != maxAlign(offset)) {
            throw new IllegalStateException("corrupted line pointer: offset " + offset + ", size " + oldSize);
        }
        oldSize = maxAlign(oldSize);
        int aligned = maxAlign(newSize);
        if (aligned > oldSize + (upper - lower(p))) {
            throw new IllegalStateException("failed to overwrite item " + offnum + ": no room");
        }
        int diff = oldSize - aligned;
        if (diff != 0) {
            System.arraycopy(p, upper, p, upper + diff, offset - upper);
            setUpper(p, upper + diff);
            for (int i = 1; i <= count; i++) {
                if (ItemId.hasStorage(p, i) && ItemId.offset(p, i) <= offset) {
                    ItemId.setOffset(p, i, ItemId.offset(p, i) + diff);
                }
            }
        }
        ItemId.set(p, offnum, offset + diff, ItemId.flags(p, offnum), newSize);
        System.arraycopy(tuple, 0, p, offset + diff, newSize);
    }

    /** The checks PageIndex* do first ("paranoia seems justified"). */
    private static void checkIndexPointers(byte[] p) {
        int lower = lower(p);
        int upper = upper(p);
        int special = special(p);
        if (lower < HEADER_SIZE || lower > upper || upper > special || special > SIZE || special != maxAlign(special)) {
            throw new IllegalStateException("corrupted page pointers: lower " + lower + " upper " + upper
                    + " special " + special);
        }
    }

    private static void checkPointers(byte[] p) {
        int lower = lower(p);
        int upper = upper(p);
        int special = special(p);
        if (lower < HEADER_SIZE || lower > upper || upper > special || special > SIZE) {
            throw new IllegalStateException("corrupted page pointers: lower " + lower + " upper " + upper
                    + " special " + special);
        }
    }

    // ------------------------------------------------------------ little-endian access

    public static int u16(byte[] b, int off) {
        return (b[off] & 0xFF) | (b[off + 1] & 0xFF) << 8;
    }

    public static int u32(byte[] b, int off) {
        return (b[off] & 0xFF) | (b[off + 1] & 0xFF) << 8 | (b[off + 2] & 0xFF) << 16 | (b[off + 3] & 0xFF) << 24;
    }

    public static void putU16(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
    }

    public static void putU32(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
        b[off + 2] = (byte) (v >>> 16);
        b[off + 3] = (byte) (v >>> 24);
    }
}
