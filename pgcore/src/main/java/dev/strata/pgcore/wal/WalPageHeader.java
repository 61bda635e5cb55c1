package dev.strata.pgcore.wal;

import dev.strata.pgcore.lsn.Lsn;

/**
 * The header at the start of every WAL page ({@code XLogPageHeaderData}, 24 bytes) or, on
 * the first page of a segment, the long header ({@code XLogLongPageHeaderData}, 40 bytes)
 * which adds the system identifier, segment size and WAL page size. {@code remLen} is the
 * number of bytes of a record continued from the previous page (with
 * {@link #FIRST_IS_CONTRECORD}). For short headers the long-only fields are 0.
 */
public record WalPageHeader(int magic, int info, int timeline, Lsn pageAddress, long remLen,
                            long systemId, int segmentSize, int pageSize) {

    /** {@code XLOG_PAGE_MAGIC} of PostgreSQL 17: WAL of any other major is refused. */
    public static final int PG17_MAGIC = 0xD116;
    public static final int SHORT_SIZE = 24;
    public static final int LONG_SIZE = 40;

    public static final int FIRST_IS_CONTRECORD = 0x0001;
    public static final int LONG_HEADER = 0x0002;
    public static final int BKP_REMOVABLE = 0x0004;
    public static final int FIRST_IS_OVERWRITE_CONTRECORD = 0x0008;
    public static final int ALL_FLAGS = 0x000F;

    public boolean isLong() {
        return (info & LONG_HEADER) != 0;
    }

    public boolean isContinuation() {
        return (info & FIRST_IS_CONTRECORD) != 0;
    }

    /** Bytes this header occupies on its page. */
    public int size() {
        return isLong() ? LONG_SIZE : SHORT_SIZE;
    }

    /** Size a header occupies given only its info flags (the first 24 bytes are enough). */
    static int sizeForInfo(int info) {
        return (info & LONG_HEADER) != 0 ? LONG_SIZE : SHORT_SIZE;
    }

    /**
     * Parses a header from {@code buf[off..]}; the caller provides {@link #size()} bytes.
     * Checks nothing: see {@link WalDecoder} for validation, which needs the position.
     */
    static WalPageHeader parse(byte[] buf, int off) {
        int info = LittleEndian.u16(buf, off + 2);
        boolean isLong = (info & LONG_HEADER) != 0;
        return new WalPageHeader(
                LittleEndian.u16(buf, off),
                info,
                LittleEndian.i32(buf, off + 4),
                new Lsn(LittleEndian.i64(buf, off + 8)),
                LittleEndian.u32(buf, off + 16),
                isLong ? LittleEndian.i64(buf, off + 24) : 0,
                isLong ? LittleEndian.i32(buf, off + 32) : 0,
                isLong ? LittleEndian.i32(buf, off + 36) : 0);
    }
}
