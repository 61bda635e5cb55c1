package dev.strata.pageserver.redo.page;

/**
 * A line pointer ({@code ItemIdData}, storage/itemid.h): one little-endian 32-bit word with
 * the bit fields {@code lp_off:15, lp_flags:2, lp_len:15} in that order from the low bit (how
 * gcc and clang lay out PostgreSQL's bit fields on little-endian machines). Line pointer
 * {@code n} (1-based offset number) sits at {@code 24 + 4 * (n - 1)}.
 *
 * <p>Static helpers over the page array, so redo allocates nothing per item.
 */
public final class ItemId {

    /** Unused: no storage, free for reuse. */
    public static final int LP_UNUSED = 0;
    /** In use, with storage. */
    public static final int LP_NORMAL = 1;
    /** HOT redirect: {@code lp_off} is the offset number it points at, no storage. */
    public static final int LP_REDIRECT = 2;
    /** Dead: may or may not have storage. */
    public static final int LP_DEAD = 3;

    /** {@code sizeof(ItemIdData)}. */
    public static final int SIZE = 4;

    private ItemId() {
    }

    /** Byte position of line pointer {@code offnum} (1-based). */
    public static int position(int offnum) {
        return Page.HEADER_SIZE + (offnum - 1) * SIZE;
    }

    public static int word(byte[] page, int offnum) {
        return Page.u32(page, position(offnum));
    }

    public static int offset(byte[] page, int offnum) {
        return word(page, offnum) & 0x7FFF;
    }

    public static int flags(byte[] page, int offnum) {
        return (word(page, offnum) >>> 15) & 0x3;
    }

    public static int length(byte[] page, int offnum) {
        return (word(page, offnum) >>> 17) & 0x7FFF;
    }

    /** {@code ItemIdIsUsed}: anything but LP_UNUSED. */
    public static boolean isUsed(byte[] page, int offnum) {
        return flags(page, offnum) != LP_UNUSED;
    }

    public static boolean isNormal(byte[] page, int offnum) {
        return flags(page, offnum) == LP_NORMAL;
    }

    /** {@code ItemIdHasStorage}: a non-zero length (normal items, and dead items that kept theirs). */
    public static boolean hasStorage(byte[] page, int offnum) {
        return length(page, offnum) != 0;
    }

    /** Writes all three fields. */
    public static void set(byte[] page, int offnum, int off, int flags, int len) {
        if (off < 0 || off > 0x7FFF || len < 0 || len > 0x7FFF || flags < 0 || flags > 3) {
            throw new IllegalArgumentException("line pointer off " + off + " flags " + flags + " len " + len);
        }
        Page.putU32(page, position(offnum), off | (flags << 15) | (len << 17));
    }

    public static void setNormal(byte[] page, int offnum, int off, int len) {
        set(page, offnum, off, LP_NORMAL, len);
    }

    /** {@code ItemIdSetRedirect}: points at {@code target}, no storage. */
    public static void setRedirect(byte[] page, int offnum, int target) {
        set(page, offnum, target, LP_REDIRECT, 0);
    }

    /** {@code ItemIdSetDead}: dead without storage. */
    public static void setDead(byte[] page, int offnum) {
        set(page, offnum, 0, LP_DEAD, 0);
    }

    /** {@code ItemIdSetUnused}. */
    public static void setUnused(byte[] page, int offnum) {
        set(page, offnum, 0, LP_UNUSED, 0);
    }

    /** Sets only {@code lp_off}, keeping flags and length. */
    public static void setOffset(byte[] page, int offnum, int off) {
        int w = word(page, offnum);
        Page.putU32(page, position(offnum), (w & ~0x7FFF) | (off & 0x7FFF));
    }
}
