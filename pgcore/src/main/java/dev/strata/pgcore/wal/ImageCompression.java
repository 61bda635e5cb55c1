package dev.strata.pgcore.wal;

/** How a full-page image is compressed in WAL ({@code wal_compression}; {@code BKPIMAGE_COMPRESS_*}). */
public enum ImageCompression {
    NONE,
    PGLZ,
    LZ4,
    ZSTD
}
