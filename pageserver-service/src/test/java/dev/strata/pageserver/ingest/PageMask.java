package dev.strata.pageserver.ingest;

/**
 * Masks what may legitimately differ between a page PostgreSQL holds and the same page
 * rebuilt from WAL, after PostgreSQL's own {@code *_mask} functions (bufmask.c, heapam
 * and nbtree): pd_lsn and pd_checksum; hint flags in pd_flags; unused space between
 * pd_lower and pd_upper; heap tuple hint bits (readers set them without WAL); btree
 * LP_DEAD hints, BTP_HAS_GARBAGE and the vacuum cycle id. Everything else must match.
 */
final class PageMask {

    enum Kind { HEAP, BTREE, VISIBILITY_MAP }

    private static final int PD_HAS_FREE_LINES = 0x0001;
    private static final int PD_PAGE_FULL = 0x0002;
    private static final int HEAP_HINT_BITS = 0x0100 | 0x0200 | 0x0400 | 0x0800; // XMIN/XMAX COMMITTED/INVALID
    private static final int LP_NORMAL = 1;
    private static final int LP_DEAD = 3;
    private static final int BTP_HAS_GARBAGE = 1 << 6;

    private PageMask() {
    }

    static byte[] mask(byte[] page, Kind kind) {
        byte[] p = page.clone();
        java.util.Arrays.fill(p, 0, 10, (byte) 0); // pd_lsn, pd_checksum
        if (kind == Kind.VISIBILITY_MAP) {
            return p; // pd_lower..pd_upper is the bitmap itself here
        }
        putU16(p, 10, u16(p, 10) & ~(PD_HAS_FREE_LINES | PD_PAGE_FULL));
        int lower = u16(p, 12);
        int upper = u16(p, 14);
        int special = u16(p, 16);
        if (lower < 24 || lower > upper || upper > special || special > 8192) {
            return p; // not a standard page (e.g. all zeros): compare as is
        }
        java.util.Arrays.fill(p, lower, upper, (byte) 0);
        int items = (lower - 24) / 4;
        for (int i = 0; i < items; i++) {
            int at = 24 + 4 * i;
            long lp = u32(p, at);
            int off = (int) (lp & 0x7FFF);
            int flags = (int) ((lp >>> 15) & 0x3);
            if (kind == Kind.HEAP && flags == LP_NORMAL && off + 22 <= 8192) {
                putU16(p, off + 20, u16(p, off + 20) & ~HEAP_HINT_BITS);
            }
            if (kind == Kind.BTREE && flags == LP_DEAD) {
                lp = (lp & ~(0x3L << 15)) | ((long) LP_NORMAL << 15);
                putU32(p, at, lp);
            }
        }
        if (kind == Kind.BTREE && special + 16 <= 8192) {
            putU16(p, special + 12, u16(p, special + 12) & ~BTP_HAS_GARBAGE);
            putU16(p, special + 14, 0); // btpo_cycleid
        }
        return p;
    }

    /** First offset where the masked pages differ, or -1. */
    static int firstDifference(byte[] a, byte[] b) {
        return java.util.Arrays.mismatch(a, b);
    }

    private static int u16(byte[] b, int off) {
        return (b[off] & 0xFF) | (b[off + 1] & 0xFF) << 8;
    }

    private static long u32(byte[] b, int off) {
        return (b[off] & 0xFFL) | (b[off + 1] & 0xFFL) << 8 | (b[off + 2] & 0xFFL) << 16 | (b[off + 3] & 0xFFL) << 24;
    }

    private static void putU16(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
    }

    private static void putU32(byte[] b, int off, long v) {
        for (int i = 0; i < 4; i++) {
            b[off + i] = (byte) (v >>> (8 * i));
        }
    }
}
