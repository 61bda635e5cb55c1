package dev.strata.pgcore.wal;

/**
 * Decompressor for PostgreSQL's pglz format (written from the format description in
 * {@code src/common/pg_lzcompress.c}): a control byte gives, least significant bit first,
 * for each of the next 8 items whether it is a literal byte (0) or a back-reference tag (1).
 * A tag is 2 bytes, {@code OOOOLLLL OOOOOOOO} (12-bit offset, length-3 in 4 bits), plus a
 * third length byte added to 18 when the length nibble is 0xF.
 */
final class Pglz {

    private Pglz() {
    }

    /**
     * Decompresses {@code src[srcOff, srcOff+srcLen)} into exactly {@code dst[0, rawSize)}.
     * Returns false (never throws, never reads or writes out of bounds) if the input is not
     * valid pglz or does not produce exactly {@code rawSize} bytes from exactly all its bytes.
     */
    static boolean decompress(byte[] src, int srcOff, int srcLen, byte[] dst, int rawSize) {
        if (srcLen < 0 || rawSize < 0 || rawSize > dst.length || srcOff < 0 || srcOff + srcLen > src.length) {
            return false;
        }
        int sp = srcOff;
        int srcEnd = srcOff + srcLen;
        int dp = 0;
        while (sp < srcEnd && dp < rawSize) {
            int ctrl = src[sp++] & 0xFF;
            for (int bit = 0; bit < 8 && sp < srcEnd && dp < rawSize; bit++, ctrl >>>= 1) {
                if ((ctrl & 1) == 0) {
                    dst[dp++] = src[sp++];
                    continue;
                }
                if (sp + 2 > srcEnd) {
                    return false;
                }
                int t1 = src[sp] & 0xFF;
                int t2 = src[sp + 1] & 0xFF;
                sp += 2;
                int len = (t1 & 0x0F) + 3;
                int off = ((t1 & 0xF0) << 4) | t2;
                if (len == 18) {
                    if (sp >= srcEnd) {
                        return false;
                    }
                    len += src[sp++] & 0xFF;
                }
                if (off == 0 || off > dp) {
                    return false;
                }
                len = Math.min(len, rawSize - dp);
                if (off >= len) {
                    System.arraycopy(dst, dp - off, dst, dp, len);
                    dp += len;
                } else {
                    // Overlapping copy repeats the last `off` bytes: copy byte by byte forward.
                    for (int i = 0; i < len; i++, dp++) {
                        dst[dp] = dst[dp - off];
                    }
                }
            }
        }
        return dp == rawSize && sp == srcEnd;
    }
}
