package dev.strata.pageserver.redo.page;

import java.util.Arrays;

/**
 * Masks what may legitimately differ between a page PostgreSQL holds and the same page
 * rebuilt from WAL, after PostgreSQL 17's own {@code *_mask} functions (bufmask.c and
 * heap_mask, btree_mask, hash_mask, gin_mask, gist_mask, spg_mask, brin_mask, seq_mask): what
 * those functions leave alone must match byte for byte.
 *
 * <ul>
 * <li>every kind: pd_lsn, pd_checksum;</li>
 * <li>hint bits ({@code mask_page_hint_bits}, all but sequences and VM): pd_prune_xid,
 * PD_HAS_FREE_LINES, PD_PAGE_FULL, PD_ALL_VISIBLE;</li>
 * <li>unused space between pd_lower and pd_upper (all but VM, whose bitmap lives there; GIN
 * and SP-GiST only with a valid pd_lower, BRIN only on regular and meta pages);</li>
 * <li>heap: tuple visibility bits (HEAP_XACT_MASK unless xmin is frozen, then the xmax hint
 * bits), t_cid, the padding after each tuple;</li>
 * <li>btree: line pointer flags on leaf pages, BTP_HAS_GARBAGE, BTP_SPLIT_END, cycle id;</li>
 * <li>hash: unused pages entirely, line pointer flags on bucket and overflow pages,
 * LH_PAGE_HAS_DEAD_TUPLES;</li>
 * <li>GIN: deleted pages entirely; GiST: NSN, F_FOLLOW_RIGHT (set), F_HAS_GARBAGE, leaf line
 * pointer flags; BRIN: BRIN_EVACUATE_PAGE.</li>
 * </ul>
 * An all-zero page (extended, never initialised) is compared as is.
 */
public final class PageMask {

    public enum Kind {
        HEAP, BTREE, HASH, GIN, GIST, SPGIST, BRIN, GENERIC, SEQUENCE, VISIBILITY_MAP;

        /** The mask for a relation's main fork, from {@code pg_class.relkind} and its index access method. */
        public static Kind of(String relkind, String am) {
            if (relkind.equals("S")) {
                return SEQUENCE;
            }
            if (!relkind.equals("i")) {
                return HEAP;
            }
            return switch (am) {
                case "btree" -> BTREE;
                case "hash" -> HASH;
                case "gin" -> GIN;
                case "gist" -> GIST;
                case "spgist" -> SPGIST;
                case "brin" -> BRIN;
                case "bloom" -> GENERIC; // contrib/bloom writes generic WAL: generic_mask
                default -> throw new IllegalArgumentException("no page mask for index access method " + am);
            };
        }
    }

    private static final int PAGE = 8192;
    private static final int HEADER = 24;
    private static final int PD_HAS_FREE_LINES = 0x0001;
    private static final int PD_PAGE_FULL = 0x0002;
    private static final int PD_ALL_VISIBLE = 0x0004;
    private static final int LP_NORMAL = 1;
    private static final int HEAP_XACT_MASK = 0xFFF0;
    private static final int HEAP_XMIN_FROZEN = 0x0300;
    private static final int HEAP_XMAX_HINTS = 0x0400 | 0x0800;
    private static final int BTP_LEAF = 1;
    private static final int BTP_HAS_GARBAGE = 1 << 6;
    private static final int BTP_SPLIT_END = 1 << 5;
    private static final int LH_PAGE_TYPE = 0x0F;
    private static final int LH_OVERFLOW_PAGE = 1;
    private static final int LH_BUCKET_PAGE = 2;
    private static final int LH_PAGE_HAS_DEAD_TUPLES = 1 << 7;
    private static final int GIN_DELETED = 1 << 2;
    private static final int F_LEAF = 1;
    private static final int F_FOLLOW_RIGHT = 1 << 3;
    private static final int F_HAS_GARBAGE = 1 << 4;
    private static final int BRIN_PAGETYPE_META = 0xF091;
    private static final int BRIN_PAGETYPE_REGULAR = 0xF093;
    private static final int BRIN_EVACUATE_PAGE = 1;

    private PageMask() {
    }

    public static byte[] mask(byte[] page, Kind kind) {
        byte[] p = page.clone();
        if (isZero(p)) {
            return p;
        }
        Arrays.fill(p, 0, 10, (byte) 0); // pd_lsn, pd_checksum
        if (kind == Kind.VISIBILITY_MAP) {
            return p; // pd_lower..pd_upper is the bitmap itself here
        }
        if (kind != Kind.SEQUENCE && kind != Kind.GENERIC) {
            maskHintBits(p);
        }
        int lower = u16(p, 12);
        int upper = u16(p, 14);
        int special = u16(p, 16);
        boolean sane = lower >= HEADER && lower <= upper && upper <= special && special <= PAGE;
        switch (kind) {
            case HEAP -> {
                unused(p, sane);
                maskHeapTuples(p);
            }
            case BTREE -> {
                unused(p, sane);
                if (special + 16 <= PAGE) {
                    int flags = u16(p, special + 12);
                    if ((flags & BTP_LEAF) != 0) {
                        maskLpFlags(p);
                    }
                    putU16(p, special + 12, flags & ~(BTP_HAS_GARBAGE | BTP_SPLIT_END));
                    putU16(p, special + 14, 0); // btpo_cycleid
                }
            }
            case HASH -> {
                unused(p, sane);
                if (special + 16 <= PAGE) {
                    int flags = u16(p, special + 12);
                    int type = flags & LH_PAGE_TYPE;
                    if (type == 0) {
                        maskContent(p);
                    } else if (type == LH_BUCKET_PAGE || type == LH_OVERFLOW_PAGE) {
                        maskLpFlags(p);
                    }
                    putU16(p, special + 12, u16(p, special + 12) & ~LH_PAGE_HAS_DEAD_TUPLES);
                }
            }
            case GIN -> {
                int flags = special + 8 <= PAGE ? u16(p, special + 6) : 0;
                if ((flags & GIN_DELETED) != 0) {
                    maskContent(p);
                } else if (lower > HEADER) {
                    unused(p, sane);
                }
            }
            case GIST -> {
                unused(p, sane);
                if (special + 16 <= PAGE) {
                    Arrays.fill(p, special, special + 8, (byte) 0); // NSN
                    int flags = u16(p, special + 12) | F_FOLLOW_RIGHT;
                    if ((flags & F_LEAF) != 0) {
                        maskLpFlags(p);
                    }
                    putU16(p, special + 12, flags & ~F_HAS_GARBAGE);
                }
            }
            case SPGIST -> {
                if (lower >= HEADER) {
                    unused(p, sane);
                }
            }
            case BRIN -> {
                int type = u16(p, PAGE - 2);
                if (type == BRIN_PAGETYPE_REGULAR || (type == BRIN_PAGETYPE_META && lower > HEADER)) {
                    unused(p, sane);
                }
                putU16(p, PAGE - 4, u16(p, PAGE - 4) & ~BRIN_EVACUATE_PAGE);
            }
            case SEQUENCE, GENERIC -> unused(p, sane);
            default -> throw new IllegalArgumentException(kind.toString());
        }
        return p;
    }

    private static void maskHintBits(byte[] p) {
        Arrays.fill(p, 20, 24, (byte) 0); // pd_prune_xid
        putU16(p, 10, u16(p, 10) & ~(PD_HAS_FREE_LINES | PD_PAGE_FULL | PD_ALL_VISIBLE));
    }

    private static void unused(byte[] p, boolean sane) {
        if (!sane) {
            throw new IllegalStateException("invalid page pd_lower " + u16(p, 12) + " pd_upper " + u16(p, 14)
                    + " pd_special " + u16(p, 16));
        }
        Arrays.fill(p, u16(p, 12), u16(p, 14), (byte) 0);
    }

    private static void maskContent(byte[] p) {
        Arrays.fill(p, HEADER, PAGE, (byte) 0);
        Arrays.fill(p, 12, 16, (byte) 0); // pd_lower, pd_upper
    }

    private static int items(byte[] p) {
        int lower = u16(p, 12);
        return lower <= HEADER ? 0 : (lower - HEADER) / 4;
    }

    /** Every used line pointer becomes LP_UNUSED (offset and length stay). */
    private static void maskLpFlags(byte[] p) {
        for (int i = 0; i < items(p); i++) {
            int at = HEADER + 4 * i;
            long lp = u32(p, at);
            if (((lp >>> 15) & 3) != 0) {
                putU32(p, at, lp & ~(3L << 15));
            }
        }
    }

    private static void maskHeapTuples(byte[] p) {
        for (int i = 0; i < items(p); i++) {
            long lp = u32(p, HEADER + 4 * i);
            int off = (int) (lp & 0x7FFF);
            int flags = (int) ((lp >>> 15) & 3);
            int len = (int) (lp >>> 17);
            if (flags == LP_NORMAL && off + 23 <= PAGE) {
                int infomask = u16(p, off + 20);
                if ((infomask & HEAP_XMIN_FROZEN) != HEAP_XMIN_FROZEN) {
                    infomask &= ~HEAP_XACT_MASK;
                } else {
                    infomask &= ~HEAP_XMAX_HINTS;
                }
                putU16(p, off + 20, infomask);
                putU32(p, off + 8, 0); // t_cid
            }
            if (len > 0) { // ItemIdHasStorage
                int padded = (len + 7) & ~7;
                if (off + padded <= PAGE) {
                    Arrays.fill(p, off + len, off + padded, (byte) 0);
                }
            }
        }
    }

    /**
     * Checks that the mask is not blind where it matters: flips the first byte of the lowest
     * item of {@code mine} (at {@code theirs}' pd_upper) and returns that offset if masking
     * hides the flip, or -1 if the masked pages then differ exactly there. A page without
     * items (pd_upper at the special space, nothing below pd_lower) and a page the mask
     * blanks entirely (a deleted GIN page, an unused hash page) have nothing to check: -1.
     * The visibility map has no items; callers skip it.
     */
    public static int blindSpot(byte[] theirs, byte[] mine, Kind kind) {
        int lower = u16(theirs, 12);
        int upper = u16(theirs, 14);
        int special = u16(theirs, 16);
        if (upper >= special || lower <= HEADER || upper == 0) {
            return -1;
        }
        byte[] flipped = mine.clone();
        flipped[upper] ^= 0x5A;
        try {
            return firstDifference(mask(theirs, kind), mask(flipped, kind)) == upper ? -1 : upper;
        } catch (IllegalStateException e) {
            return -1; // a page the mask blanks: nothing to see
        }
    }

    /** First offset where the masked pages differ, or -1. */
    public static int firstDifference(byte[] a, byte[] b) {
        return Arrays.mismatch(a, b);
    }

    private static boolean isZero(byte[] p) {
        for (byte b : p) {
            if (b != 0) {
                return false;
            }
        }
        return true;
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
