package dev.strata.pageserver.redo.spgist;

import dev.strata.pageserver.redo.page.ItemId;
import dev.strata.pageserver.redo.page.Page;
import java.util.Arrays;

/**
 * The SP-GiST page and tuple layouts redo changes (access/spgist_private.h, spgutils.c,
 * spgdoinsert.c, PostgreSQL 17.6): the special space ({@code SpGistPageOpaqueData}: flags,
 * nRedirection, nPlaceholder, spgist_page_id, 8 bytes), the dead tuple, inner tuple node
 * links, the leaf tuple's nextOffset, and the helpers replay shares ({@code addOrReplaceTuple},
 * {@code spgPageIndexMultiDelete}).
 *
 * <p>Every tuple starts with a 32-bit word whose low two bits are tupstate (little-endian
 * bitfields); a leaf or dead tuple's size is the other 30 bits, an inner tuple's size is the
 * uint16 at 4.
 */
final class SpgistPage {

    static final int SPGIST_LEAF = 1 << 2;
    static final int SPGIST_NULLS = 1 << 3;
    static final int SPGIST_PAGE_ID = 0xFF82;
    static final int SPECIAL_SIZE = 8;

    static final int LIVE = 0;
    static final int REDIRECT = 1;
    static final int DEAD = 2;
    static final int PLACEHOLDER = 3;

    /** {@code SGDTSIZE}: MAXALIGN(sizeof(SpGistDeadTupleData)). */
    static final int DEAD_TUPLE_SIZE = 16;
    /** {@code SGITHDRSZ}. */
    private static final int INNER_HEADER = 8;
    private static final int INVALID_BLOCK = -1;

    private SpgistPage() {
    }

    /** {@code SpGistInitPage}: PageInit with the opaque area, flags and the page id. */
    static void init(byte[] page, int flags) {
        Page.init(page, SPECIAL_SIZE);
        int special = Page.special(page);
        Page.putU16(page, special, flags);
        Page.putU16(page, special + 6, SPGIST_PAGE_ID);
    }

    static int nRedirection(byte[] page) {
        return Page.u16(page, Page.special(page) + 2);
    }

    static void setNRedirection(byte[] page, int n) {
        Page.putU16(page, Page.special(page) + 2, n);
    }

    static int nPlaceholder(byte[] page) {
        return Page.u16(page, Page.special(page) + 4);
    }

    static void setNPlaceholder(byte[] page, int n) {
        Page.putU16(page, Page.special(page) + 4, n);
    }

    /** The tupstate of the tuple at {@code at} (in a page or a record). */
    static int tupstate(byte[] b, int at) {
        return b[at] & 3;
    }

    /** A leaf (or dead) tuple's size: the upper 30 bits of its first word. */
    static int leafSize(byte[] b, int at) {
        return Page.u32(b, at) >>> 2;
    }

    /** An inner tuple's size: the uint16 at 4. */
    static int innerSize(byte[] b, int at) {
        return Page.u16(b, at + 4);
    }

    /** The tuple on {@code page} at line pointer {@code offnum}, checked to exist. */
    static int item(byte[] page, int offnum) {
        if (offnum < 1 || offnum > Page.maxOffset(page)) {
            throw new IllegalStateException("SP-GiST: no item " + offnum + " (max " + Page.maxOffset(page) + ")");
        }
        return ItemId.offset(page, offnum);
    }

    /** {@code SGLT_SET_NEXTOFFSET} on the leaf tuple at line pointer {@code offnum}. */
    static void setNextOffset(byte[] page, int offnum, int next) {
        int at = item(page, offnum) + 4;
        Page.putU16(page, at, (Page.u16(page, at) & 0xC000) | (next & 0x3FFF));
    }

    /**
     * {@code spgUpdateNodeLink}: the node tuple {@code nodeN} of the inner tuple at
     * {@code offnum} points at ({@code blkno}, {@code offset}).
     */
    static void updateNodeLink(byte[] page, int offnum, int nodeN, int blkno, int offset) {
        int tup = item(page, offnum);
        int word = Page.u32(page, tup);
        int nNodes = (word >>> 3) & 0x1FFF;
        int prefixSize = word >>> 16;
        int node = tup + INNER_HEADER + prefixSize;
        for (int i = 0; i < nNodes; i++) {
            if (i == nodeN) {
                setItemPointer(page, node, blkno, offset);
                return;
            }
            node += Page.u16(page, node + 6) & 0x1FFF; // IndexTupleSize
        }
        throw new IllegalStateException("failed to find requested node " + nodeN + " in SPGiST inner tuple");
    }

    /** {@code ItemPointerSet}: bi_hi, bi_lo, ip_posid. */
    static void setItemPointer(byte[] b, int at, int blkno, int offset) {
        Page.putU16(b, at, blkno >>> 16);
        Page.putU16(b, at + 2, blkno);
        Page.putU16(b, at + 4, offset);
    }

    /**
     * {@code spgFormDeadTuple}: a REDIRECT points at ({@code blkno}, {@code offnum}) with the
     * record's redirect xid; the others point nowhere and carry no xid.
     */
    static byte[] deadTuple(int tupstate, int blkno, int offnum, int redirectXid) {
        byte[] t = new byte[DEAD_TUPLE_SIZE];
        Page.putU32(t, 0, tupstate | DEAD_TUPLE_SIZE << 2);
        if (tupstate == REDIRECT) {
            setItemPointer(t, 6, blkno, offnum);
            Page.putU32(t, 12, redirectXid);
        } else {
            setItemPointer(t, 6, INVALID_BLOCK, 0);
        }
        return t;
    }

    /**
     * {@code addOrReplaceTuple}: a new tuple at {@code offset}; a placeholder there is
     * replaced (nPlaceholder goes down by one).
     */
    static void addOrReplace(byte[] page, byte[] tuple, int at, int size, int offset) {
        if (offset <= Page.maxOffset(page)) {
            if (tupstate(page, item(page, offset)) != PLACEHOLDER) {
                throw new IllegalStateException("SPGiST tuple to be replaced is not a placeholder");
            }
            setNPlaceholder(page, nPlaceholder(page) - 1);
            Page.indexTupleDelete(page, offset);
        }
        add(page, tuple, at, size, offset);
    }

    /** {@code PageAddItem(..., overwrite=false, is_heap=false)} that must land at {@code offset}. */
    static void add(byte[] page, byte[] tuple, int at, int size, int offset) {
        if (at + size > tuple.length) {
            throw new IllegalStateException("SP-GiST: tuple of " + size + " bytes at " + at + " of " + tuple.length);
        }
        Page.addItem(page, tuple, at, size, offset);
    }

    /** Deletes the tuple at {@code offset} and puts {@code size} bytes of {@code tuple} there. */
    static void replace(byte[] page, byte[] tuple, int at, int size, int offset) {
        Page.indexTupleDelete(page, offset);
        add(page, tuple, at, size, offset);
    }

    /**
     * {@code spgPageIndexMultiDelete}: the tuples at {@code itemnos} become dead tuples, the
     * first (in the given order) of state {@code firstState}, the rest {@code restState},
     * keeping their offset numbers; redirections and placeholders are counted in the opaque
     * area.
     */
    static void multiDelete(byte[] page, int[] itemnos, int firstState, int restState, int blkno,
                            int offnum, int redirectXid) {
        int n = itemnos.length;
        if (n == 0) {
            return;
        }
        int[] sorted = itemnos.clone();
        Arrays.sort(sorted);
        Page.indexMultiDelete(page, sorted, n);
        int first = itemnos[0];
        for (int itemno : sorted) {
            int state = itemno == first ? firstState : restState;
            byte[] dead = deadTuple(state, blkno, offnum, redirectXid);
            add(page, dead, 0, DEAD_TUPLE_SIZE, itemno);
            if (state == REDIRECT) {
                setNRedirection(page, nRedirection(page) + 1);
            } else if (state == PLACEHOLDER) {
                setNPlaceholder(page, nPlaceholder(page) + 1);
            }
        }
    }
}
