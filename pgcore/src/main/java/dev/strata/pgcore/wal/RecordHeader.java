package dev.strata.pgcore.wal;

import dev.strata.pgcore.lsn.Lsn;

/**
 * The fixed 24-byte header of every WAL record ({@code XLogRecord}): total length
 * (header included), transaction id (unsigned 32-bit, 0 if none), start of the previous
 * record, info bits (high nibble: resource manager specific; low nibble: {@code XLR_*}
 * flags), resource manager id and CRC-32C.
 */
public record RecordHeader(long totalLength, long xid, Lsn prev, int info, int rmid, int crc) {

    public static final int SIZE = 24;
    /** Byte offset of {@code xl_crc}: the CRC covers the header up to here. */
    static final int CRC_OFFSET = 20;

    /** The low nibble of {@code xl_info} reserved for xlog.c ({@code XLR_INFO_MASK}). */
    public static final int XLR_INFO_MASK = 0x0F;
    /** {@code XLR_SPECIAL_REL_UPDATE}: the record changes relation files in a way not described by blocks. */
    public static final int XLR_SPECIAL_REL_UPDATE = 0x01;
    /** {@code XLR_CHECK_CONSISTENCY}: written with wal_consistency_checking for this rmgr. */
    public static final int XLR_CHECK_CONSISTENCY = 0x02;

    /** The resource-manager-specific part of {@code xl_info}. */
    public int rmgrInfo() {
        return info & ~XLR_INFO_MASK & 0xFF;
    }

    /** The built-in resource manager, or null for a custom one. */
    public RmgrId rmgr() {
        return RmgrId.ofId(rmid);
    }

    static RecordHeader parse(byte[] buf, int off) {
        return new RecordHeader(
                LittleEndian.u32(buf, off),
                LittleEndian.u32(buf, off + 4),
                new Lsn(LittleEndian.i64(buf, off + 8)),
                LittleEndian.u8(buf, off + 16),
                LittleEndian.u8(buf, off + 17),
                LittleEndian.i32(buf, off + 20));
    }
}
