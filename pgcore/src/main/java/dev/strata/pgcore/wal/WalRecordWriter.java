package dev.strata.pgcore.wal;

import dev.strata.pgcore.control.CheckPoint;
import dev.strata.pgcore.lsn.Lsn;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * Builds WAL records without block references, as PostgreSQL 17's {@code XLogInsert} lays
 * them out: the 24-byte {@code XLogRecord} header (total length, xid, prev, info, rmid, 2
 * pad bytes, CRC-32C), then the main data header ({@code XLR_BLOCK_ID_DATA_SHORT} and a u8
 * length up to 255 bytes, else {@code XLR_BLOCK_ID_DATA_LONG} and a u32 length), then the
 * main data. The CRC covers the bytes after the header first, then the header up to the CRC
 * field. The result is unaligned; placing it in a WAL stream is {@link WalSegmentWriter}'s job.
 */
public final class WalRecordWriter {

    /** {@code RM_XLOG_ID}. */
    public static final int RM_XLOG = 0;
    /** {@code XLOG_CHECKPOINT_SHUTDOWN}. */
    public static final int XLOG_CHECKPOINT_SHUTDOWN = 0x00;

    private WalRecordWriter() {
    }

    /** A record of {@code rmid}/{@code info} with only main data. */
    public static byte[] record(int rmid, int info, int xid, Lsn prev, byte[] mainData) {
        if (rmid < 0 || rmid > 255) {
            throw new IllegalArgumentException("resource manager id must be 0..255, got " + rmid);
        }
        if (info < 0 || info > 255) {
            throw new IllegalArgumentException("info must be 0..255, got " + info);
        }
        boolean shortData = mainData.length <= 255;
        int dataHeader = mainData.length == 0 ? 0 : shortData ? 2 : 5;
        int total = RecordHeader.SIZE + dataHeader + mainData.length;
        ByteBuffer b = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(total).putInt(xid).putLong(prev.value()).put((byte) info).put((byte) rmid).putShort((short) 0)
                .putInt(0);
        if (mainData.length > 0) {
            if (shortData) {
                b.put((byte) RecordParser.BLOCK_ID_DATA_SHORT).put((byte) mainData.length);
            } else {
                b.put((byte) RecordParser.BLOCK_ID_DATA_LONG).putInt(mainData.length);
            }
            b.put(mainData);
        }
        byte[] raw = b.array();
        CRC32C crc = new CRC32C();
        crc.update(raw, RecordHeader.SIZE, total - RecordHeader.SIZE);
        crc.update(raw, 0, RecordHeader.CRC_OFFSET);
        LittleEndian.putI32(raw, RecordHeader.CRC_OFFSET, (int) crc.getValue());
        return raw;
    }

    /**
     * The shutdown checkpoint record PostgreSQL writes at a clean shutdown: XLOG rmgr,
     * {@code XLOG_CHECKPOINT_SHUTDOWN}, xid 0, main data the 88-byte {@code CheckPoint}
     * (114 bytes in all). Startup skips recovery only if {@code checkpoint.redo()} is the
     * record's own location.
     */
    public static byte[] shutdownCheckpoint(CheckPoint checkpoint, Lsn prev) {
        return record(RM_XLOG, XLOG_CHECKPOINT_SHUTDOWN, 0, prev, checkpoint.encode());
    }
}
