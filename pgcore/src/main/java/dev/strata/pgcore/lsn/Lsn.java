package dev.strata.pgcore.lsn;

import java.util.Locale;

/**
 * A log sequence number: a byte position in a PostgreSQL WAL stream.
 *
 * <p>Printed and parsed in PostgreSQL's {@code X/Y} form (high and low 32 bits in hex).
 * Unsigned 64-bit ordering; arithmetic is checked and never wraps silently. The segment
 * and page helpers take the sizes as arguments because a server chooses them at initdb
 * (read them from the WAL's long page header rather than assuming 16 MB / 8 kB).
 */
public record Lsn(long value) implements Comparable<Lsn> {

    /** {@code InvalidXLogRecPtr}: "no position". */
    public static final Lsn INVALID = new Lsn(0);
    /** The largest representable position. */
    public static final Lsn MAX = new Lsn(-1L);

    /** Parses {@code X/Y} where X and Y are 1 to 8 hex digits, as PostgreSQL prints LSNs. */
    public static Lsn parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("LSN is null");
        }
        int slash = text.indexOf('/');
        if (slash <= 0 || slash == text.length() - 1 || slash > 8 || text.length() - slash - 1 > 8) {
            throw new IllegalArgumentException("not an LSN (expected X/Y in hex): '" + text + "'");
        }
        try {
            long hi = Long.parseLong(text.substring(0, slash), 16);
            long lo = Long.parseLong(text.substring(slash + 1), 16);
            if (hi < 0 || lo < 0) {
                throw new NumberFormatException();
            }
            return new Lsn((hi << 32) | lo);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not an LSN (expected X/Y in hex): '" + text + "'");
        }
    }

    public static Lsn of(long value) {
        return new Lsn(value);
    }

    public boolean isValid() {
        return value != 0;
    }

    /** This position plus {@code bytes} (non-negative); throws on unsigned overflow. */
    public Lsn plus(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative byte count " + bytes);
        }
        long sum = value + bytes;
        if (Long.compareUnsigned(sum, value) < 0) {
            throw new ArithmeticException("LSN overflow: " + this + " + " + bytes);
        }
        return new Lsn(sum);
    }

    /** Bytes from {@code earlier} to this position; throws if {@code earlier} is after this. */
    public long minus(Lsn earlier) {
        if (compareTo(earlier) < 0) {
            throw new IllegalArgumentException(earlier + " is after " + this);
        }
        return value - earlier.value;
    }

    public boolean isBefore(Lsn other) {
        return compareTo(other) < 0;
    }

    public boolean isAfter(Lsn other) {
        return compareTo(other) > 0;
    }

    public static Lsn max(Lsn a, Lsn b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    public static Lsn min(Lsn a, Lsn b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /** Rounds up to a multiple of {@code alignment} (a power of two), e.g. MAXALIGN = 8. */
    public Lsn alignUp(int alignment) {
        requirePowerOfTwo(alignment);
        long mask = alignment - 1L;
        if ((value & mask) == 0) {
            return this;
        }
        return plus(alignment - (value & mask));
    }

    /** The WAL segment number holding this position ({@code XLByteToSeg}). */
    public long segmentNumber(int segmentSize) {
        requirePowerOfTwo(segmentSize);
        return Long.divideUnsigned(value, segmentSize);
    }

    /** Offset of this position inside its segment ({@code XLogSegmentOffset}). */
    public int segmentOffset(int segmentSize) {
        requirePowerOfTwo(segmentSize);
        return (int) (value & (segmentSize - 1L));
    }

    /** The first byte of the segment holding this position. */
    public Lsn segmentStart(int segmentSize) {
        return new Lsn(value - segmentOffset(segmentSize));
    }

    /** Offset of this position inside its WAL page. */
    public int pageOffset(int pageSize) {
        requirePowerOfTwo(pageSize);
        return (int) (value & (pageSize - 1L));
    }

    /** The first byte of the WAL page holding this position. */
    public Lsn pageStart(int pageSize) {
        return new Lsn(value - pageOffset(pageSize));
    }

    /** First position of segment {@code segmentNumber} ({@code XLogSegNoOffsetToRecPtr}). */
    public static Lsn ofSegment(long segmentNumber, int segmentSize) {
        requirePowerOfTwo(segmentSize);
        return new Lsn(Math.multiplyExact(segmentNumber, (long) segmentSize));
    }

    /**
     * The WAL file name of the segment holding this position on {@code timeline}, as in
     * {@code pg_wal/} (24 hex digits: timeline, then the segment number split per 4 GB).
     */
    public String walFileName(int timeline, int segmentSize) {
        long segNo = segmentNumber(segmentSize);
        long segmentsPerId = 0x1_0000_0000L / segmentSize;
        return String.format(Locale.ROOT, "%08X%08X%08X", timeline,
                segNo / segmentsPerId, segNo % segmentsPerId);
    }

    @Override
    public int compareTo(Lsn other) {
        return Long.compareUnsigned(value, other.value);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%X/%X", value >>> 32, value & 0xFFFF_FFFFL);
    }

    private static void requirePowerOfTwo(long n) {
        if (n <= 0 || (n & (n - 1)) != 0) {
            throw new IllegalArgumentException("not a power of two: " + n);
        }
    }
}
