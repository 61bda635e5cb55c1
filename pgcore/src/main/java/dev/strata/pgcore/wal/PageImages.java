package dev.strata.pgcore.wal;

import com.github.luben.zstd.Zstd;
import dev.strata.pgcore.lsn.Lsn;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * Restores full-page images from WAL to whole pages: decompress (pglz, lz4, zstd) to the
 * page size minus the hole, then put the hole back as zeros at its offset, as PostgreSQL's
 * {@code RestoreBlockImage} does. Every length is checked before use.
 */
final class PageImages {

    /** {@code BLCKSZ}: data page size. Not in WAL headers; PostgreSQL's default build uses 8 kB. */
    static final int PAGE_SIZE = 8192;

    private static final LZ4SafeDecompressor LZ4 = LZ4Factory.fastestInstance().safeDecompressor();

    private PageImages() {
    }

    static byte[] restore(Lsn recordLsn, int blockId, BlockImage image, byte[] raw, int offset) {
        int holeOffset = image.holeOffset();
        int holeLength = image.holeLength();
        if (holeOffset < 0 || holeLength < 0 || holeOffset + holeLength > PAGE_SIZE) {
            throw new WalDecodeException(recordLsn, "block " + blockId + " image hole offset " + holeOffset
                    + " length " + holeLength + " exceeds the page size " + PAGE_SIZE);
        }
        int storedSize = PAGE_SIZE - holeLength;
        byte[] page = new byte[PAGE_SIZE];
        if (!image.isCompressed()) {
            if (image.length() != storedSize) {
                throw new WalDecodeException(recordLsn, "block " + blockId + " image length " + image.length()
                        + " does not match page size minus hole " + storedSize);
            }
            System.arraycopy(raw, offset, page, 0, holeOffset);
            System.arraycopy(raw, offset + holeOffset, page, holeOffset + holeLength, storedSize - holeOffset);
            return page;
        }
        byte[] tmp = holeLength == 0 ? page : new byte[storedSize];
        boolean ok = switch (image.compression()) {
            case PGLZ -> Pglz.decompress(raw, offset, image.length(), tmp, storedSize);
            case LZ4 -> lz4(raw, offset, image.length(), tmp, storedSize);
            case ZSTD -> zstd(raw, offset, image.length(), tmp, storedSize);
            case NONE -> throw new AssertionError("compressed image without a compression kind");
        };
        if (!ok) {
            throw new WalDecodeException(recordLsn, "block " + blockId + " image: corrupt "
                    + image.compression() + " data (" + image.length() + " bytes, expected to expand to "
                    + storedSize + ")");
        }
        if (holeLength != 0) {
            System.arraycopy(tmp, 0, page, 0, holeOffset);
            System.arraycopy(tmp, holeOffset, page, holeOffset + holeLength, storedSize - holeOffset);
        }
        return page;
    }

    private static boolean lz4(byte[] src, int off, int len, byte[] dst, int rawSize) {
        try {
            return LZ4.decompress(src, off, len, dst, 0, rawSize) == rawSize;
        } catch (LZ4Exception e) {
            return false;
        }
    }

    private static boolean zstd(byte[] src, int off, int len, byte[] dst, int rawSize) {
        try {
            long n = Zstd.decompressByteArray(dst, 0, rawSize, src, off, len);
            return !Zstd.isError(n) && n == rawSize;
        } catch (RuntimeException e) {
            return false;
        }
    }
}
