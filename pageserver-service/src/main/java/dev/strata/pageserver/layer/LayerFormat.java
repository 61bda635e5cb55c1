package dev.strata.pageserver.layer;

/**
 * The on-disk layout shared by delta and image layer files, format version 2 (big-endian).
 * Version 2 added value tag 3, an image stored without its longest zero run
 * ({@link ValueCodec}); version 1 files (tags 0 to 2) are read as they are.
 *
 * <pre>
 *   summary, {@value #SUMMARY_SIZE} bytes at offset 0:
 *     0  u32 magic 'STLF'        4  u16 format version     6  u8 kind (1 delta, 2 image)   7 u8 0
 *     8  16B timeline id         24 18B key range start    42 18B key range end
 *     60 u64 LSN range start     68 u64 LSN range end (exclusive)
 *     76 u64 entry count         84 u64 index offset       92 u32 index block count
 *     96 u32 entries per block   100 u64 fence offset      108 u32 CRC-32C of the fences
 *     112..123 zero              124 u32 CRC-32C of bytes 0..123
 *   values, from offset {@value #SUMMARY_SIZE}, in (key, LSN) order:
 *     u32 payload length, u8 tag, payload, u32 CRC-32C of (length, tag, payload); tags: 0 image,
 *     1 record, 2 will-init record, 3 image without its zero run (u32 offset, u32 length of
 *     the zeros, then the bytes before and after them)
 *   index blocks at the index offset, each: up to entries-per-block entries of
 *     18B key, u64 LSN, u64 value offset, u32 value block length, u8 flags (bit 0: will init)
 *     followed by a u32 CRC-32C of the block's entries
 *   fences at the fence offset: per index block, its first entry's 18B key and u64 LSN
 *   the file ends right after the fences.
 * </pre>
 * A lookup binary-searches the fences (kept in memory), reads one index block (cached after
 * its first use) and then the values it needs.
 */
final class LayerFormat {

    static final int MAGIC = 0x53544C46; // "STLF"
    static final int VERSION = 2;
    /** Files written before {@link ValueCodec#TAG_IMAGE_WITHOUT_ZEROS}: still read. */
    static final int VERSION_WITHOUT_ZERO_RUNS = 1;
    static final int KIND_DELTA = 1;
    static final int KIND_IMAGE = 2;
    static final int SUMMARY_SIZE = 128;
    static final int SUMMARY_CRC_OFFSET = 124;

    static final int ENTRY_SIZE = 18 + 8 + 8 + 4 + 1;
    static final int ENTRY_LSN = 18;
    static final int ENTRY_OFFSET = 26;
    static final int ENTRY_LENGTH = 34;
    static final int ENTRY_FLAGS = 38;
    static final int FLAG_WILL_INIT = 1;
    static final int FENCE_SIZE = 18 + 8;
    static final int ENTRIES_PER_BLOCK = 100;

    /** length + tag before the payload, CRC after it. */
    static final int VALUE_HEADER = 5;
    static final int VALUE_OVERHEAD = VALUE_HEADER + 4;
    /** A value larger than this is corruption, not data (pages are 8 KiB, files far below this). */
    static final int MAX_VALUE_SIZE = 64 << 20;

    static final String TEMP_SUFFIX = ".strata-tmp";

    private LayerFormat() {
    }

    static int blockBytes(int entriesPerBlock) {
        return entriesPerBlock * ENTRY_SIZE + 4;
    }
}
