package dev.strata.pgcore.wal;

import dev.strata.pgcore.lsn.Lsn;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * One WAL record, decoded and CRC-checked: where it starts and where the next one may
 * start (the end LSN, 8-byte aligned, which redo stamps on the pages it touches), the
 * fixed header, the block references and the main data.
 *
 * <p>Owns the record's bytes; block data, images and main data are views into them.
 */
public final class DecodedRecord {

    /** {@code InvalidRepOriginId}: the record carries no replication origin. */
    public static final int NO_ORIGIN = 0;

    private final Lsn startLsn;
    private final Lsn endLsn;
    private final RecordHeader header;
    private final List<BlockReference> blocks;
    private final byte[] raw;
    private final int mainDataOffset;
    private final int mainDataLength;
    private final int originId;
    private final long toplevelXid;

    DecodedRecord(Lsn startLsn, Lsn endLsn, RecordHeader header, List<BlockReference> blocks, byte[] raw,
                  int mainDataOffset, int mainDataLength, int originId, long toplevelXid) {
        this.startLsn = startLsn;
        this.endLsn = endLsn;
        this.header = header;
        this.blocks = blocks;
        this.raw = raw;
        this.mainDataOffset = mainDataOffset;
        this.mainDataLength = mainDataLength;
        this.originId = originId;
        this.toplevelXid = toplevelXid;
    }

    /** The record's LSN ({@code ReadRecPtr}). */
    public Lsn startLsn() {
        return startLsn;
    }

    /** The end LSN ({@code EndRecPtr}); for {@code XLOG_SWITCH}, the start of the next segment. */
    public Lsn endLsn() {
        return endLsn;
    }

    public RecordHeader header() {
        return header;
    }

    public Lsn prevLsn() {
        return header.prev();
    }

    public long xid() {
        return header.xid();
    }

    public int info() {
        return header.info();
    }

    public int rmid() {
        return header.rmid();
    }

    /** The built-in resource manager, or null for a custom one. */
    public RmgrId rmgr() {
        return header.rmgr();
    }

    /** The record type as pg_walinspect prints it, e.g. {@code INSERT+INIT}. */
    public String recordTypeName() {
        return RecordTypeNames.of(header.rmid(), header.info());
    }

    /** {@code xl_tot_len}: header, block headers, images, block data and main data. */
    public int totalLength() {
        return (int) header.totalLength();
    }

    /** Block references in increasing block id order (ids may have gaps). */
    public List<BlockReference> blocks() {
        return blocks;
    }

    /** The reference with this block id, or null. */
    public BlockReference block(int blockId) {
        for (BlockReference b : blocks) {
            if (b.id() == blockId) {
                return b;
            }
        }
        return null;
    }

    public int mainDataLength() {
        return mainDataLength;
    }

    /** A copy of the main data. */
    public byte[] mainData() {
        return Arrays.copyOfRange(raw, mainDataOffset, mainDataOffset + mainDataLength);
    }

    /** A read-only little-endian view of the main data. */
    public ByteBuffer mainDataBuffer() {
        return ByteBuffer.wrap(raw, mainDataOffset, mainDataLength).slice().asReadOnlyBuffer()
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    }

    /** Sum of the stored (possibly compressed) image lengths, as pg_walinspect's fpi_length. */
    public int fpiLength() {
        int sum = 0;
        for (BlockReference b : blocks) {
            if (b.image() != null) {
                sum += b.image().length();
            }
        }
        return sum;
    }

    /** Replication origin id, or {@link #NO_ORIGIN}. */
    public int originId() {
        return originId;
    }

    /** Top-level XID of a subtransaction's first record (logical decoding), or 0. */
    public long toplevelXid() {
        return toplevelXid;
    }

    /**
     * Copies the record as assembled ({@code xl_tot_len} bytes: header, block headers, images,
     * block data, main data; CRC included) into {@code dst} at {@code offset}: what
     * {@link #decode} takes back.
     */
    public void copyAssembled(byte[] dst, int offset) {
        System.arraycopy(raw, 0, dst, offset, totalLength());
    }

    /**
     * Decodes a record kept as assembled bytes ({@link #copyAssembled}), e.g. by a store that
     * replays it later: the header and CRC are checked again, and every length against the bytes.
     *
     * @param assembled exactly {@code xl_tot_len} bytes; the record owns them from here on
     */
    public static DecodedRecord decode(Lsn startLsn, Lsn endLsn, byte[] assembled) {
        if (assembled.length < RecordHeader.SIZE) {
            throw new WalDecodeException(startLsn, "record of " + assembled.length + " bytes is shorter than its header");
        }
        RecordHeader header = RecordHeader.parse(assembled, 0);
        if (header.totalLength() != assembled.length) {
            throw new WalDecodeException(startLsn, "xl_tot_len " + header.totalLength() + " but " + assembled.length
                    + " bytes kept");
        }
        if (!RmgrId.isValid(header.rmid())) {
            throw new WalDecodeException(startLsn, "invalid resource manager ID " + header.rmid());
        }
        return RecordParser.parse(startLsn, endLsn, header, assembled);
    }

    /** True for {@code XLOG_SWITCH}: the rest of the segment after it is unused. */
    public boolean isSwitch() {
        return isSwitch(header.rmid(), header.info());
    }

    static boolean isSwitch(int rmid, int info) {
        return rmid == RmgrId.XLOG.id() && (info & ~RecordHeader.XLR_INFO_MASK & 0xFF) == 0x40;
    }

    @Override
    public String toString() {
        return "rmgr: " + RmgrId.nameOf(header.rmid()) + " len " + header.totalLength() + " tx " + header.xid()
                + " lsn " + startLsn + " prev " + header.prev() + " " + recordTypeName() + " blocks " + blocks;
    }
}
