package dev.strata.pgcore.wal;

import dev.strata.pgcore.lsn.Lsn;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Decodes an assembled record's bytes (header, block headers, payloads, main data) as
 * PostgreSQL's {@code DecodeXLogRecord} does, after checking its CRC-32C. Every length
 * read from the record is checked against the bytes actually present.
 */
final class RecordParser {

    static final int BLOCK_ID_DATA_SHORT = 255;
    static final int BLOCK_ID_DATA_LONG = 254;
    static final int BLOCK_ID_ORIGIN = 253;
    static final int BLOCK_ID_TOPLEVEL_XID = 252;

    private static final int RELFILELOCATOR_SIZE = 12;
    private static final int MAX_FORK_NUMBER = 3;

    private RecordParser() {
    }

    /** A block header read before its payload's offset is known. */
    private record PendingBlock(int id, int forkFlags, int dataLength, RelFileLocator rel, long blockNumber,
                                BlockImage image) {
    }

    /** Checks the CRC of {@code raw[0, totalLength)}: body after the header first, then header up to xl_crc. */
    static void checkCrc(Lsn start, byte[] raw, int totalLength) {
        checkCrc(start, raw, 0, totalLength);
    }

    /** As {@link #checkCrc(Lsn, byte[], int)} for a record at {@code raw[off]}. */
    static void checkCrc(Lsn start, byte[] raw, int off, int totalLength) {
        CRC32C crc = new CRC32C();
        crc.update(raw, off + RecordHeader.SIZE, totalLength - RecordHeader.SIZE);
        crc.update(raw, off, RecordHeader.CRC_OFFSET);
        compareCrc(start, (int) crc.getValue(), raw, off);
    }

    /** Compares a computed CRC-32C with the xl_crc of the record header at {@code header[off]}. */
    static void compareCrc(Lsn start, int actual, byte[] header, int off) {
        int expected = LittleEndian.i32(header, off + RecordHeader.CRC_OFFSET);
        if (actual != expected) {
            throw new WalDecodeException(start, String.format(java.util.Locale.ROOT,
                    "incorrect resource manager data checksum: computed %08X, record has %08X", actual, expected));
        }
    }

    static DecodedRecord parse(Lsn start, Lsn end, RecordHeader header, byte[] raw) {
        int total = (int) header.totalLength();
        checkCrc(start, raw, total);
        int pos = RecordHeader.SIZE;
        int remaining = total - RecordHeader.SIZE;
        long dataTotal = 0;
        int mainDataLength = 0;
        int originId = DecodedRecord.NO_ORIGIN;
        long toplevelXid = 0;
        int maxBlockId = -1;
        RelFileLocator previousRel = null;
        // Per block: header fields collected first; payload offsets are known only afterwards.
        List<PendingBlock> pending = new ArrayList<>(4);
        while (remaining > dataTotal) {
            need(start, remaining, 1, "block id");
            int blockId = LittleEndian.u8(raw, pos);
            pos++;
            remaining--;
            if (blockId == BLOCK_ID_DATA_SHORT) {
                need(start, remaining, 1, "short main data length");
                mainDataLength = LittleEndian.u8(raw, pos);
                pos++;
                remaining--;
                dataTotal += mainDataLength;
                break; // the main data header is always last
            } else if (blockId == BLOCK_ID_DATA_LONG) {
                need(start, remaining, 4, "long main data length");
                long len = LittleEndian.u32(raw, pos);
                pos += 4;
                remaining -= 4;
                if (len > remaining) {
                    throw new WalDecodeException(start, "main data length " + len + " exceeds the " + remaining
                            + " bytes left in the record");
                }
                mainDataLength = (int) len;
                dataTotal += mainDataLength;
                break;
            } else if (blockId == BLOCK_ID_ORIGIN) {
                need(start, remaining, 2, "replication origin");
                originId = LittleEndian.u16(raw, pos);
                pos += 2;
                remaining -= 2;
            } else if (blockId == BLOCK_ID_TOPLEVEL_XID) {
                need(start, remaining, 4, "top-level xid");
                toplevelXid = LittleEndian.u32(raw, pos);
                pos += 4;
                remaining -= 4;
            } else if (blockId <= BlockReference.MAX_BLOCK_ID) {
                if (blockId <= maxBlockId) {
                    throw new WalDecodeException(start, "out-of-order block_id " + blockId);
                }
                maxBlockId = blockId;
                need(start, remaining, 3, "block header");
                int forkFlags = LittleEndian.u8(raw, pos);
                int dataLength = LittleEndian.u16(raw, pos + 1);
                if ((forkFlags & BlockReference.FORK_MASK) > MAX_FORK_NUMBER) {
                    // PostgreSQL does not check this, but never writes it: such a record is corrupt.
                    throw new WalDecodeException(start, "invalid fork number " + (forkFlags & BlockReference.FORK_MASK)
                            + " (block " + blockId + ")");
                }
                pos += 3;
                remaining -= 3;
                boolean hasData = (forkFlags & BlockReference.HAS_DATA) != 0;
                if (hasData && dataLength == 0) {
                    throw new WalDecodeException(start, "BKPBLOCK_HAS_DATA set, but no data included (block " + blockId + ")");
                }
                if (!hasData && dataLength != 0) {
                    throw new WalDecodeException(start, "BKPBLOCK_HAS_DATA not set, but data length is " + dataLength
                            + " (block " + blockId + ")");
                }
                dataTotal += dataLength;
                BlockImage image = null;
                if ((forkFlags & BlockReference.HAS_IMAGE) != 0) {
                    need(start, remaining, 5, "block image header");
                    int bimgLen = LittleEndian.u16(raw, pos);
                    int holeOffset = LittleEndian.u16(raw, pos + 2);
                    int bimgInfo = LittleEndian.u8(raw, pos + 4);
                    pos += 5;
                    remaining -= 5;
                    boolean compressed = (bimgInfo & BlockImage.COMPRESS_MASK) != 0;
                    boolean hasHole = (bimgInfo & BlockImage.HAS_HOLE) != 0;
                    int holeLength;
                    if (compressed) {
                        if (hasHole) {
                            need(start, remaining, 2, "compressed image hole length");
                            holeLength = LittleEndian.u16(raw, pos);
                            pos += 2;
                            remaining -= 2;
                        } else {
                            holeLength = 0;
                        }
                    } else {
                        holeLength = PageImages.PAGE_SIZE - bimgLen;
                    }
                    checkImage(start, blockId, bimgLen, holeOffset, holeLength, hasHole, compressed);
                    dataTotal += bimgLen;
                    image = new BlockImage(bimgLen, holeOffset, holeLength, bimgInfo);
                }
                RelFileLocator rel;
                if ((forkFlags & BlockReference.SAME_REL) == 0) {
                    need(start, remaining, RELFILELOCATOR_SIZE, "relation locator");
                    rel = new RelFileLocator(LittleEndian.u32(raw, pos), LittleEndian.u32(raw, pos + 4),
                            LittleEndian.u32(raw, pos + 8));
                    pos += RELFILELOCATOR_SIZE;
                    remaining -= RELFILELOCATOR_SIZE;
                    previousRel = rel;
                } else {
                    if (previousRel == null) {
                        throw new WalDecodeException(start, "BKPBLOCK_SAME_REL set but no previous rel (block " + blockId + ")");
                    }
                    rel = previousRel;
                }
                need(start, remaining, 4, "block number");
                long blockNumber = LittleEndian.u32(raw, pos);
                pos += 4;
                remaining -= 4;
                pending.add(new PendingBlock(blockId, forkFlags, dataLength, rel, blockNumber, image));
            } else {
                throw new WalDecodeException(start, "invalid block_id " + blockId);
            }
        }
        if (remaining != dataTotal) {
            throw new WalDecodeException(start, "record length " + total + " does not match its headers: "
                    + remaining + " payload bytes present, " + dataTotal + " described");
        }
        // Payloads follow in block order: each block's image, then its data; main data last.
        List<BlockReference> blocks = new ArrayList<>(pending.size());
        for (PendingBlock b : pending) {
            int imageOffset = pos;
            if (b.image() != null) {
                pos += b.image().length();
            }
            int dataOffset = pos;
            pos += b.dataLength();
            blocks.add(new BlockReference(start, b.id(), b.forkFlags(), b.rel(), b.blockNumber(), b.image(), raw,
                    imageOffset, dataOffset, b.dataLength()));
        }
        return new DecodedRecord(start, end, header, List.copyOf(blocks), raw, pos, mainDataLength, originId, toplevelXid);
    }

    private static void checkImage(Lsn start, int blockId, int bimgLen, int holeOffset, int holeLength,
                                   boolean hasHole, boolean compressed) {
        int pageSize = PageImages.PAGE_SIZE;
        if (hasHole && (holeOffset == 0 || holeLength == 0 || bimgLen == pageSize)) {
            throw new WalDecodeException(start, "BKPIMAGE_HAS_HOLE set, but hole offset " + holeOffset + " length "
                    + holeLength + " block image length " + bimgLen + " (block " + blockId + ")");
        }
        if (!hasHole && (holeOffset != 0 || holeLength != 0)) {
            throw new WalDecodeException(start, "BKPIMAGE_HAS_HOLE not set, but hole offset " + holeOffset
                    + " length " + holeLength + " (block " + blockId + ")");
        }
        if (compressed && bimgLen == pageSize) {
            throw new WalDecodeException(start, "BKPIMAGE_COMPRESSED set, but block image length " + bimgLen
                    + " (block " + blockId + ")");
        }
        if (!hasHole && !compressed && bimgLen != pageSize) {
            throw new WalDecodeException(start, "neither BKPIMAGE_HAS_HOLE nor BKPIMAGE_COMPRESSED set, but block image"
                    + " length is " + bimgLen + " (block " + blockId + ")");
        }
        if (holeOffset + holeLength > pageSize || holeLength < 0) {
            throw new WalDecodeException(start, "block image hole offset " + holeOffset + " length " + holeLength
                    + " exceeds the page size (block " + blockId + ")");
        }
    }

    private static void need(Lsn start, long remaining, int bytes, String what) {
        if (remaining < bytes) {
            throw new WalDecodeException(start, "record too short for its " + what + " (" + remaining + " bytes left)");
        }
    }
}
