package dev.strata.pageserver.redo.gin;

import dev.strata.pageserver.redo.page.Page;

/**
 * The GIN page (access/ginblock.h, PostgreSQL 17.6) as redo changes it: the special space
 * ({@code GinPageOpaqueData}: rightlink uint32, maxoff uint16, flags uint16; 8 bytes), the
 * metapage, posting tree pages (a right bound item pointer at 24, then at 32 either the
 * compressed posting list segments of a leaf or the 10-byte PostingItems of an internal
 * page, pd_lower just past them) and the routines of gindatapage.c, ginutil.c and the
 * {@code ginRedoRecompress} of ginxlog.c that work on them.
 */
public final class GinPage {

    public static final int GIN_DATA = 1;
    public static final int GIN_LEAF = 1 << 1;
    public static final int GIN_DELETED = 1 << 2;
    public static final int GIN_META = 1 << 3;
    public static final int GIN_LIST = 1 << 4;
    public static final int GIN_LIST_FULLROW = 1 << 5;
    public static final int GIN_INCOMPLETE_SPLIT = 1 << 6;
    public static final int GIN_COMPRESSED = 1 << 7;

    public static final int INVALID_BLOCK = 0xFFFFFFFF;
    /** {@code sizeof(GinPageOpaqueData)}. */
    public static final int SPECIAL_SIZE = 8;
    private static final int OPAQUE_RIGHTLINK = 0;
    private static final int OPAQUE_MAXOFF = 4;
    private static final int OPAQUE_FLAGS = 6;

    /** {@code PageGetContents}: MAXALIGN(SizeOfPageHeaderData); the metapage data starts here. */
    static final int CONTENTS = 24;
    /** {@code GinDataPageGetData}: after the right bound, MAXALIGN(sizeof(ItemPointerData)). */
    static final int DATA = CONTENTS + 8;
    /** {@code sizeof(GinMetaPageData)}. */
    static final int META_SIZE = 56;
    /** {@code sizeof(PostingItem)}: child_blkno (BlockIdData) and key (ItemPointerData). */
    static final int POSTING_ITEM_SIZE = 10;

    // ginxlogRecompressDataLeaf segment actions
    static final int GIN_SEGMENT_DELETE = 1;
    static final int GIN_SEGMENT_INSERT = 2;
    static final int GIN_SEGMENT_REPLACE = 3;
    static final int GIN_SEGMENT_ADDITEMS = 4;

    private GinPage() {
    }

    /** {@code GinInitPage(page, flags, BLCKSZ)}. */
    static void init(byte[] page, int flags) {
        Page.init(page, SPECIAL_SIZE);
        setFlags(page, flags);
        setRightlink(page, INVALID_BLOCK);
    }

    /**
     * {@code GinInitMetabuffer}, then the GinMetaPageData the record carries at
     * {@code metaAt} copied over it (56 bytes, padding included, as PostgreSQL's memcpy).
     */
    static void initMeta(byte[] page, byte[] main, int metaAt) {
        if (main.length < metaAt + META_SIZE) {
            throw new IllegalStateException("GIN metapage record of " + main.length + " bytes");
        }
        init(page, GIN_META);
        System.arraycopy(main, metaAt, page, CONTENTS, META_SIZE);
        Page.setLower(page, CONTENTS + META_SIZE);
    }

    /** {@code GinPageGetOpaque}, checked: a page without the GIN special space is not a GIN page. */
    static int opaque(byte[] page) {
        int special = Page.special(page);
        if (special != Page.SIZE - SPECIAL_SIZE) {
            throw new IllegalStateException("not a GIN page: pd_special " + special);
        }
        return special;
    }

    static int flags(byte[] page) {
        return Page.u16(page, opaque(page) + OPAQUE_FLAGS);
    }

    static void setFlags(byte[] page, int flags) {
        Page.putU16(page, opaque(page) + OPAQUE_FLAGS, flags);
    }

    static void setRightlink(byte[] page, int block) {
        Page.putU32(page, opaque(page) + OPAQUE_RIGHTLINK, block);
    }

    static int maxoff(byte[] page) {
        return Page.u16(page, opaque(page) + OPAQUE_MAXOFF);
    }

    static void setMaxoff(byte[] page, int maxoff) {
        Page.putU16(page, opaque(page) + OPAQUE_MAXOFF, maxoff);
    }

    /** {@code GinDataPageSetDataSize}: pd_lower just past {@code size} bytes of data. */
    static void setDataSize(byte[] page, int size) {
        if (size < 0 || DATA + size > Page.SIZE - SPECIAL_SIZE) {
            throw new IllegalStateException("GIN data page: " + size + " bytes of data do not fit");
        }
        Page.setLower(page, DATA + size);
    }

    /** The byte offset of PostingItem {@code i} (from 1) of an internal posting tree page. */
    static int postingItem(int i) {
        return DATA + (i - 1) * POSTING_ITEM_SIZE;
    }

    /**
     * {@code GinDataPageAddPostingItem}: the 10-byte item at {@code item[at]} goes to
     * {@code offset} (0: after the last), the later ones move up one.
     */
    static void addPostingItem(byte[] page, byte[] item, int at, int offset) {
        if ((flags(page) & GIN_LEAF) != 0) {
            throw new IllegalStateException("GIN posting item added to a leaf page");
        }
        int maxoff = maxoff(page);
        if (offset < 0 || offset > maxoff + 1) {
            throw new IllegalStateException("GIN posting item offset " + offset + " beyond " + (maxoff + 1));
        }
        if ((maxoff + 1) * POSTING_ITEM_SIZE > Page.SIZE - SPECIAL_SIZE - DATA) {
            throw new IllegalStateException("GIN internal data page full: " + maxoff + " items");
        }
        int ptr;
        if (offset == 0) {
            ptr = postingItem(maxoff + 1);
        } else {
            ptr = postingItem(offset);
            if (offset != maxoff + 1) {
                System.arraycopy(page, ptr, page, ptr + POSTING_ITEM_SIZE, (maxoff - offset + 1) * POSTING_ITEM_SIZE);
            }
        }
        System.arraycopy(item, at, page, ptr, POSTING_ITEM_SIZE);
        maxoff++;
        setMaxoff(page, maxoff);
        setDataSize(page, maxoff * POSTING_ITEM_SIZE);
    }

    /** {@code GinPageDeletePostingItem}: removes item {@code offset}, the later ones move down one. */
    static void deletePostingItem(byte[] page, int offset) {
        if ((flags(page) & GIN_LEAF) != 0) {
            throw new IllegalStateException("GIN posting item deleted from a leaf page");
        }
        int maxoff = maxoff(page);
        if (offset < 1 || offset > maxoff) {
            throw new IllegalStateException("GIN posting item offset " + offset + " not in 1.." + maxoff);
        }
        if (offset != maxoff) {
            System.arraycopy(page, postingItem(offset + 1), page, postingItem(offset),
                    POSTING_ITEM_SIZE * (maxoff - offset));
        }
        maxoff--;
        setMaxoff(page, maxoff);
        setDataSize(page, maxoff * POSTING_ITEM_SIZE);
    }

    /**
     * {@code ginRedoRecompress}: applies the segment actions of a ginxlogRecompressDataLeaf at
     * {@code data[at]} (nactions, then per action segno, type and its data) to a posting tree
     * leaf. The result is the same as PostgreSQL's in-place rewrite: the page's segments in
     * order, with the deleted ones gone, the replaced ones (and those ADDITEMS re-encodes)
     * changed and the inserted ones added, from offset 32; pd_lower just past them. A leaf in
     * the pre-9.4 uncompressed format is compressed first.
     */
    static void recompress(byte[] page, byte[] data, int at) {
        int flags = flags(page);
        if ((flags & GIN_DATA) == 0 || (flags & GIN_LEAF) == 0) {
            throw new IllegalStateException("GIN recompress on a page that is not a posting tree leaf (flags 0x"
                    + Integer.toHexString(flags) + ")");
        }
        if ((flags & GIN_COMPRESSED) == 0) {
            convertUncompressed(page);
        }
        int end = Page.lower(page);
        if (end < DATA || end > Page.SIZE - SPECIAL_SIZE) {
            throw new IllegalStateException("GIN data leaf: pd_lower " + end);
        }
        byte[] old = page.clone(); // the segments are read from the old page, the new ones written to the page
        int seg = DATA;
        int segno = 0;
        int write = DATA;
        int limit = Page.SIZE - SPECIAL_SIZE;
        int nactions = Page.u16(data, at);
        at += 2;
        for (int a = 0; a < nactions; a++) {
            int aSegno = data[at] & 0xFF;
            int action = data[at + 1] & 0xFF;
            at += 2;
            byte[] newseg = null;
            int newsegAt = 0;
            int newsegSize = 0;
            long[] items = null;
            if (action == GIN_SEGMENT_INSERT || action == GIN_SEGMENT_REPLACE) {
                newseg = data;
                newsegAt = at;
                newsegSize = GinPostingList.size(data, at);
                at += newsegSize;
            } else if (action == GIN_SEGMENT_ADDITEMS) {
                int nitems = Page.u16(data, at);
                at += 2;
                items = new long[nitems];
                for (int i = 0; i < nitems; i++) {
                    items[i] = GinPostingList.readItem(data, at);
                    at += 6;
                }
            }
            if (segno > aSegno) {
                throw new IllegalStateException("GIN leaf action on segment " + aSegno + " after segment " + segno);
            }
            while (segno < aSegno) {
                if (seg >= end) {
                    throw new IllegalStateException("GIN leaf action on segment " + aSegno + " of " + segno);
                }
                int size = GinPostingList.size(old, seg);
                write = put(page, write, old, seg, size, limit);
                seg += size;
                segno++;
            }
            if (action == GIN_SEGMENT_ADDITEMS) {
                if (seg >= end) {
                    throw new IllegalStateException("GIN leaf ADDITEMS past the last segment");
                }
                long[] olditems = GinPostingList.decodeAll(old, seg, GinPostingList.size(old, seg));
                long[] merged = GinPostingList.merge(items, items.length, olditems, olditems.length);
                newseg = GinPostingList.encode(merged, merged.length, Page.SIZE);
                newsegAt = 0;
                newsegSize = newseg.length;
                action = GIN_SEGMENT_REPLACE;
            }
            int segsize;
            if (seg < end) {
                segsize = GinPostingList.size(old, seg);
            } else if (action == GIN_SEGMENT_INSERT) {
                segsize = 0;
            } else {
                throw new IllegalStateException("GIN leaf action " + action + " past the last segment");
            }
            switch (action) {
                case GIN_SEGMENT_DELETE -> {
                    seg += segsize;
                    segno++;
                }
                case GIN_SEGMENT_INSERT -> write = put(page, write, newseg, newsegAt, newsegSize, limit);
                case GIN_SEGMENT_REPLACE -> {
                    write = put(page, write, newseg, newsegAt, newsegSize, limit);
                    seg += segsize;
                    segno++;
                }
                default -> throw new IllegalStateException("unexpected GIN leaf action: " + action);
            }
        }
        if (seg < end) {
            write = put(page, write, old, seg, end - seg, limit);
        }
        setDataSize(page, write - DATA);
    }

    private static int put(byte[] page, int write, byte[] from, int at, int len, int limit) {
        if (write + len > limit) {
            throw new IllegalStateException("GIN data leaf overflows: " + (write + len - DATA) + " bytes");
        }
        System.arraycopy(from, at, page, write, len);
        return write + len;
    }

    /** The pre-9.4 leaf of {@code maxoff} uncompressed ItemPointers, compressed in place. */
    private static void convertUncompressed(byte[] page) {
        int n = maxoff(page);
        int total = 0;
        if (n > 0) {
            long[] items = new long[n];
            for (int i = 0; i < n; i++) {
                items[i] = GinPostingList.readItem(page, DATA + 6 * i);
            }
            byte[] seg = GinPostingList.encode(items, n, Page.SIZE);
            System.arraycopy(seg, 0, page, DATA, seg.length);
            total = seg.length;
        }
        setDataSize(page, total);
        setFlags(page, flags(page) | GIN_COMPRESSED);
        setMaxoff(page, 0);
    }
}
