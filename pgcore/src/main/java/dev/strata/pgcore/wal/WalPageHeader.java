package dev.strata.pgcore.wal;

import dev.strata.pgcore.lsn.Lsn;
import java.util.Locale;

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

    static final int MIN_PAGE_SIZE = 1024;
    static final int MAX_PAGE_SIZE = 64 * 1024;
    static final int MIN_SEGMENT_SIZE = 1024 * 1024;
    static final int MAX_SEGMENT_SIZE = 1024 * 1024 * 1024;

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
     * True if this is not a page of the WAL being read but what a segment holds beyond its
     * end: a zeroed page, or a page from the recycled segment's former life (valid magic, an
     * older page address). At a record boundary PostgreSQL's recovery treats both as end of WAL.
     */
    boolean isLeftover(Lsn expectedAddress, int knownPageSize) {
        if (magic == 0 && info == 0 && pageAddress.value() == 0) {
            return true;
        }
        return magic == PG17_MAGIC && (info & ~ALL_FLAGS) == 0 && pageAddress.isBefore(expectedAddress)
                && (knownPageSize == 0 || pageAddress.value() % knownPageSize == 0);
    }

    /** Checks magic, flags and address; the caller checks sizes and continuation against its state. */
    void check(Lsn expectedAddress) {
        if (magic != PG17_MAGIC) {
            throw new WalDecodeException(expectedAddress, String.format(Locale.ROOT,
                    "invalid magic number %04X in WAL page (PostgreSQL 17 is %04X)", magic, PG17_MAGIC));
        }
        if ((info & ~ALL_FLAGS) != 0) {
            throw new WalDecodeException(expectedAddress, String.format(Locale.ROOT, "invalid info bits %04X in WAL page", info));
        }
        if (!pageAddress.equals(expectedAddress)) {
            throw new WalDecodeException(expectedAddress, "unexpected page address " + pageAddress + " in WAL page");
        }
    }

    /**
     * Checks a long header at {@code page} against the sizes and system id seen so far (0 if
     * none yet): sizes must be powers of two in PostgreSQL's ranges and must not change.
     */
    void checkLong(Lsn page, int knownPageSize, int knownSegmentSize, long knownSystemId) {
        if (knownSegmentSize == 0) {
            checkSizes(page, pageSize, segmentSize);
        } else if (segmentSize != knownSegmentSize || pageSize != knownPageSize) {
            throw new WalDecodeException(page, "WAL segment size " + segmentSize + " / page size " + pageSize
                    + " in long header, expected " + knownSegmentSize + " / " + knownPageSize);
        }
        if (page.value() % segmentSize != 0) {
            throw new WalDecodeException(page, "long page header inside a segment (segment size " + segmentSize + ")");
        }
        if (knownSystemId != 0 && systemId != knownSystemId) {
            throw new WalDecodeException(page, "WAL belongs to system " + Long.toUnsignedString(systemId)
                    + ", expected " + Long.toUnsignedString(knownSystemId));
        }
    }

    static void checkSizes(Lsn where, int pageSize, int segmentSize) {
        if (!validSize(pageSize, MIN_PAGE_SIZE, MAX_PAGE_SIZE) || !validSize(segmentSize, MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE)
                || segmentSize < pageSize) {
            throw new WalDecodeException(where, "invalid WAL page size " + pageSize + " / segment size " + segmentSize);
        }
    }

    private static boolean validSize(int size, int min, int max) {
        return size >= min && size <= max && (size & (size - 1)) == 0;
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
