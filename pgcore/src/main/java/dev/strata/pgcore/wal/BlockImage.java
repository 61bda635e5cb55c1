package dev.strata.pgcore.wal;

/**
 * The header of a full-page image in a block reference ({@code XLogRecordBlockImageHeader}
 * plus, for compressed images with a hole, {@code XLogRecordBlockCompressHeader}):
 * stored length, where the hole (the unused middle of the page, left out) starts and how
 * long it is, and the {@code bimg_info} flags.
 */
public record BlockImage(int length, int holeOffset, int holeLength, int info) {

    public static final int HAS_HOLE = 0x01;
    public static final int APPLY = 0x02;
    public static final int COMPRESS_PGLZ = 0x04;
    public static final int COMPRESS_LZ4 = 0x08;
    public static final int COMPRESS_ZSTD = 0x10;
    static final int COMPRESS_MASK = COMPRESS_PGLZ | COMPRESS_LZ4 | COMPRESS_ZSTD;

    public boolean hasHole() {
        return (info & HAS_HOLE) != 0;
    }

    /**
     * True if redo must restore this image. Images written only for
     * {@code wal_consistency_checking} are false here, yet hold the page's after-image too.
     */
    public boolean apply() {
        return (info & APPLY) != 0;
    }

    public boolean isCompressed() {
        return (info & COMPRESS_MASK) != 0;
    }

    public ImageCompression compression() {
        if ((info & COMPRESS_PGLZ) != 0) {
            return ImageCompression.PGLZ;
        }
        if ((info & COMPRESS_LZ4) != 0) {
            return ImageCompression.LZ4;
        }
        if ((info & COMPRESS_ZSTD) != 0) {
            return ImageCompression.ZSTD;
        }
        return ImageCompression.NONE;
    }
}
