package dev.strata.pageserver.redo.gin;

import dev.strata.pageserver.redo.page.Page;
import java.util.Arrays;

/**
 * GIN's compressed posting lists ({@code GinPostingList}, access/ginblock.h; the codec of
 * access/gin/ginpostinglist.c, PostgreSQL 17.6) as the redo of a posting tree leaf needs them:
 * decode a segment, merge item pointers, encode a segment.
 *
 * <p>A segment: {@code first} (an ItemPointerData, 6 bytes: block as two uint16 halves, high
 * first, then the offset), {@code nbytes} (uint16), then {@code nbytes} bytes of varbyte-encoded
 * deltas, padded with a zero byte to an even length. An item pointer is encoded as the 43-bit
 * integer {@code block << 11 | offset}; each delta from the previous item is written 7 bits a
 * byte, low bits first, the high bit set on every byte but the last.
 *
 * <p>Here an item pointer is a {@code long}: {@code block << 16 | offset}, which sorts as
 * {@code ginCompareItemPointers} does.
 */
public final class GinPostingList {

    /** {@code offsetof(GinPostingList, bytes)}. */
    public static final int HEADER = 8;
    /** {@code MaxHeapTuplesPerPageBits}. */
    private static final int OFFSET_BITS = 11;
    /** {@code MaxBytesPerInteger}. */
    private static final int MAX_BYTES_PER_INTEGER = 7;

    private GinPostingList() {
    }

    /** {@code SizeOfGinPostingList}: header plus SHORTALIGN(nbytes). */
    public static int size(byte[] b, int at) {
        int nbytes = Page.u16(b, at + 6);
        return HEADER + ((nbytes + 1) & ~1);
    }

    /** An ItemPointerData at {@code at}: block (bi_hi, bi_lo) and offset. */
    public static long readItem(byte[] b, int at) {
        long block = (long) Page.u16(b, at) << 16 | Page.u16(b, at + 2);
        return block << 16 | Page.u16(b, at + 4);
    }

    public static void writeItem(byte[] b, int at, long item) {
        long block = item >>> 16;
        Page.putU16(b, at, (int) (block >>> 16));
        Page.putU16(b, at + 2, (int) block);
        Page.putU16(b, at + 4, (int) item);
    }

    /** {@code BlockIdGetBlockNumber} of a BlockIdData at {@code at}. */
    public static int blockId(byte[] b, int at) {
        return Page.u16(b, at) << 16 | Page.u16(b, at + 2);
    }

    /** {@code BlockIdSet}. */
    public static void putBlockId(byte[] b, int at, int block) {
        Page.putU16(b, at, block >>> 16);
        Page.putU16(b, at + 2, block);
    }

    private static long toUint64(long item) {
        return (item >>> 16) << OFFSET_BITS | (item & 0xFFFF);
    }

    private static long fromUint64(long v) {
        return (v >>> OFFSET_BITS) << 16 | (v & ((1 << OFFSET_BITS) - 1));
    }

    /**
     * {@code ginPostingListDecodeAllSegments}: the items of the segments in
     * {@code b[at, at + len)}, in order.
     */
    public static long[] decodeAll(byte[] b, int at, int len) {
        long[] out = new long[16];
        int n = 0;
        int end = at + len;
        while (at < end) {
            int nbytes = Page.u16(b, at + 6);
            int size = HEADER + ((nbytes + 1) & ~1);
            if (at + size > end) {
                throw new IllegalStateException("GIN posting list segment of " + size + " bytes runs past its end");
            }
            long item = readItem(b, at);
            if (n == out.length) {
                out = Arrays.copyOf(out, n * 2);
            }
            out[n++] = item;
            long val = toUint64(item);
            int p = at + HEADER;
            int stop = at + HEADER + nbytes;
            while (p < stop) {
                long delta = 0;
                int shift = 0;
                while (true) {
                    if (p >= stop || shift > 42) {
                        throw new IllegalStateException("GIN posting list: varbyte integer runs past the segment");
                    }
                    int c = b[p++] & 0xFF;
                    delta |= (long) (c & 0x7F) << shift;
                    if ((c & 0x80) == 0 || shift == 42) {
                        if (shift == 42) {
                            delta |= (long) (c & 0x80) << shift; // the 7th byte's bits as PostgreSQL reads them
                        }
                        break;
                    }
                    shift += 7;
                }
                val += delta;
                if (n == out.length) {
                    out = Arrays.copyOf(out, n * 2);
                }
                out[n++] = fromUint64(val);
            }
            at += size;
        }
        return Arrays.copyOf(out, n);
    }

    /**
     * {@code ginCompressPostingList(items, n, maxsize)} with everything fitting: the segment,
     * its length short-aligned, the padding byte zero.
     *
     * @throws IllegalStateException if not every item fits in {@code maxsize} bytes
     */
    public static byte[] encode(long[] items, int n, int maxsize) {
        maxsize &= ~1; // SHORTALIGN_DOWN
        byte[] out = new byte[maxsize];
        writeItem(out, 0, items[0]);
        long prev = toUint64(items[0]);
        int p = HEADER;
        byte[] buf = new byte[MAX_BYTES_PER_INTEGER];
        for (int i = 1; i < n; i++) {
            long val = toUint64(items[i]);
            if (Long.compareUnsigned(val, prev) <= 0) {
                throw new IllegalStateException("GIN posting list items out of order");
            }
            long delta = val - prev;
            int len = 0;
            while (Long.compareUnsigned(delta, 0x7F) > 0) {
                buf[len++] = (byte) (0x80 | (delta & 0x7F));
                delta >>>= 7;
            }
            buf[len++] = (byte) delta;
            if (len > maxsize - p) {
                throw new IllegalStateException("GIN posting list of " + n + " items does not fit " + maxsize + " bytes");
            }
            System.arraycopy(buf, 0, out, p, len);
            p += len;
            prev = val;
        }
        int nbytes = p - HEADER;
        Page.putU16(out, 6, nbytes);
        return Arrays.copyOf(out, HEADER + ((nbytes + 1) & ~1));
    }

    /** {@code ginMergeItemPointers}: the union of two sorted arrays, one copy of equal items. */
    public static long[] merge(long[] a, int na, long[] b, int nb) {
        long[] dst = new long[na + nb];
        if (na == 0 || nb == 0 || a[na - 1] < b[0]) {
            System.arraycopy(a, 0, dst, 0, na);
            System.arraycopy(b, 0, dst, na, nb);
            return dst;
        }
        if (b[nb - 1] < a[0]) {
            System.arraycopy(b, 0, dst, 0, nb);
            System.arraycopy(a, 0, dst, nb, na);
            return dst;
        }
        int i = 0;
        int j = 0;
        int d = 0;
        while (i < na && j < nb) {
            if (a[i] > b[j]) {
                dst[d++] = b[j++];
            } else if (a[i] == b[j]) {
                dst[d++] = b[j++];
                i++;
            } else {
                dst[d++] = a[i++];
            }
        }
        while (i < na) {
            dst[d++] = a[i++];
        }
        while (j < nb) {
            dst[d++] = b[j++];
        }
        return Arrays.copyOf(dst, d);
    }
}
