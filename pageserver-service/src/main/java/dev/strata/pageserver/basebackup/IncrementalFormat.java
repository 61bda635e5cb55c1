package dev.strata.pageserver.basebackup;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;

/**
 * The wire format of an incremental basebackup, apart from who writes and who applies it.
 *
 * <p>An incremental archive is a full basebackup's tar (same entries, same order) with two
 * differences: its first entry is the file {@value #MARKER} ({@link BasebackupBase#encodeMarker},
 * the base it applies to), and a relation segment file the base directory already holds comes as
 * an entry {@value #REUSE_PREFIX}{@code <path of the segment>} instead of the file itself, with
 * this content (big-endian):
 *
 * <pre>
 *   int64 baseBlocks   the segment's length in the base, in 8 KiB blocks (0: the base has no such file)
 *   int64 blocks       its length at the requested point
 *   then per page that differs, ascending:  int32 block (within the segment)  byte[8192] page
 * </pre>
 *
 * Applying it: take the base directory's file (none when {@code baseBlocks} is 0), check it has
 * at least {@code baseBlocks} blocks (else the base is not what the pageserver thinks: fall back
 * to a full basebackup; more is fine: PostgreSQL extends relations by several blocks at a time
 * without WAL, and the writer sends every block at or above {@code baseBlocks}), set the length
 * to {@code blocks} (truncating, or extending with zero pages), write each page at its block.
 * Every block of the result that is not written is the base's block, which the writer
 * guarantees equals the requested point's.
 */
public final class IncrementalFormat {

    /** The first entry of an incremental archive. */
    public static final String MARKER = "strata_incremental";
    /** Prefix of the entries that patch a segment file of the base directory. */
    public static final String REUSE_PREFIX = "strata_reuse/";
    public static final int BLOCK_SIZE = Basebackup.BLOCK_SIZE;
    /** Blocks in one relation segment file (1 GiB). */
    public static final int SEGMENT_BLOCKS = Basebackup.RELSEG_BLOCKS;
    static final int HEADER_BYTES = 16;
    static final int PAGE_RECORD_BYTES = 4 + BLOCK_SIZE;

    private IncrementalFormat() {
    }

    /** The size of a reuse entry carrying {@code pages} pages. */
    static long entrySize(long pages) {
        return HEADER_BYTES + pages * PAGE_RECORD_BYTES;
    }

    static byte[] header(long baseBlocks, long blocks) {
        return ByteBuffer.allocate(HEADER_BYTES).putLong(baseBlocks).putLong(blocks).array();
    }

    static byte[] blockNumber(int block) {
        return ByteBuffer.allocate(4).putInt(block).array();
    }

    /** The header of a reuse entry. */
    public record SegmentPatch(long baseBlocks, long blocks, long pages) {
    }

    /**
     * Reads a reuse entry's header and checks it against the entry's size; the pages follow,
     * read with {@link #readPage}. An entry that is not well formed is refused.
     */
    public static SegmentPatch readHeader(InputStream in, long entrySize, String name) throws IOException {
        if (entrySize < HEADER_BYTES || (entrySize - HEADER_BYTES) % PAGE_RECORD_BYTES != 0) {
            throw new IOException("incremental entry '" + name + "' of " + entrySize + " bytes is not a header and"
                    + " whole pages");
        }
        DataInputStream d = new DataInputStream(in);
        long baseBlocks = d.readLong();
        long blocks = d.readLong();
        long pages = (entrySize - HEADER_BYTES) / PAGE_RECORD_BYTES;
        if (baseBlocks < 0 || baseBlocks > SEGMENT_BLOCKS || blocks < 0 || blocks > SEGMENT_BLOCKS || pages > blocks) {
            throw new IOException("incremental entry '" + name + "': base " + baseBlocks + " blocks, new " + blocks
                    + " blocks, " + pages + " pages is not a segment of at most " + SEGMENT_BLOCKS + " blocks");
        }
        return new SegmentPatch(baseBlocks, blocks, pages);
    }

    /** Reads the next page record into {@code page}; returns its block, checked to be below {@code blocks}. */
    public static int readPage(InputStream in, SegmentPatch patch, byte[] page, String name) throws IOException {
        DataInputStream d = new DataInputStream(in);
        int block;
        try {
            block = d.readInt();
            d.readFully(page, 0, BLOCK_SIZE);
        } catch (EOFException e) {
            throw new IOException("incremental entry '" + name + "' ends inside a page", e);
        }
        if (block < 0 || block >= patch.blocks()) {
            throw new IOException("incremental entry '" + name + "' writes block " + block + " of a segment of "
                    + patch.blocks() + " blocks");
        }
        return block;
    }
}
