package dev.strata.pgcore.wal;

import dev.strata.pgcore.lsn.Lsn;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * One block a WAL record touches: block id (0-32), fork, relation, block number, flags,
 * optionally a full-page image and optionally resource-manager data for redo.
 *
 * <p>Views into its record's bytes (no copies at decode time); {@link #restoredPage()}
 * decompresses and refills the hole on demand, so consumers that ignore images pay nothing.
 */
public final class BlockReference {

    public static final int MAX_BLOCK_ID = 32;
    public static final int FORK_MASK = 0x0F;
    public static final int HAS_IMAGE = 0x10;
    public static final int HAS_DATA = 0x20;
    public static final int WILL_INIT = 0x40;
    public static final int SAME_REL = 0x80;

    private final Lsn recordLsn;
    private final int id;
    private final int forkFlags;
    private final RelFileLocator locator;
    private final long blockNumber;
    private final BlockImage image;
    private final byte[] raw;
    private final int imageOffset;
    private final int dataOffset;
    private final int dataLength;

    BlockReference(Lsn recordLsn, int id, int forkFlags, RelFileLocator locator, long blockNumber,
                   BlockImage image, byte[] raw, int imageOffset, int dataOffset, int dataLength) {
        this.recordLsn = recordLsn;
        this.id = id;
        this.forkFlags = forkFlags;
        this.locator = locator;
        this.blockNumber = blockNumber;
        this.image = image;
        this.raw = raw;
        this.imageOffset = imageOffset;
        this.dataOffset = dataOffset;
        this.dataLength = dataLength;
    }

    public int id() {
        return id;
    }

    public int forkNumber() {
        return forkFlags & FORK_MASK;
    }

    public ForkNumber fork() {
        return ForkNumber.ofNumber(forkNumber());
    }

    /** The raw {@code fork_flags} byte. */
    public int forkFlags() {
        return forkFlags;
    }

    public boolean hasImage() {
        return (forkFlags & HAS_IMAGE) != 0;
    }

    public boolean hasData() {
        return (forkFlags & HAS_DATA) != 0;
    }

    public boolean willInit() {
        return (forkFlags & WILL_INIT) != 0;
    }

    /** True if the relation was omitted in WAL because it equals the previous block's. */
    public boolean sameRel() {
        return (forkFlags & SAME_REL) != 0;
    }

    public RelFileLocator locator() {
        return locator;
    }

    /** Unsigned 32-bit block number. */
    public long blockNumber() {
        return blockNumber;
    }

    /** The image header, or null if the reference carries no image. */
    public BlockImage image() {
        return image;
    }

    /** Length of the resource manager data for this block (0 without {@link #HAS_DATA}). */
    public int dataLength() {
        return dataLength;
    }

    /** A copy of the block's resource manager data. */
    public byte[] data() {
        return Arrays.copyOfRange(raw, dataOffset, dataOffset + dataLength);
    }

    /** A read-only view of the block's resource manager data. */
    public ByteBuffer dataBuffer() {
        return ByteBuffer.wrap(raw, dataOffset, dataLength).slice().asReadOnlyBuffer();
    }

    /** A copy of the image as stored in WAL (compressed, hole left out). */
    public byte[] storedImage() {
        if (image == null) {
            throw new IllegalStateException("block " + id + " has no image");
        }
        return Arrays.copyOfRange(raw, imageOffset, imageOffset + image.length());
    }

    /**
     * The full page (8192 bytes) this image describes: decompressed, hole filled with zeros.
     * Throws {@link WalDecodeException} naming the record's LSN if the image is corrupt.
     */
    public byte[] restoredPage() {
        if (image == null) {
            throw new IllegalStateException("block " + id + " has no image");
        }
        return PageImages.restore(recordLsn, id, image, raw, imageOffset);
    }

    @Override
    public String toString() {
        return "blkref #" + id + ": rel " + locator + " fork " + forkNumber() + " blk " + blockNumber
                + (image != null ? " FPI" + (image.apply() ? "" : " for WAL verification") : "")
                + (hasData() ? " data " + dataLength : "");
    }
}
