package dev.strata.pgcore.id;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * Identifies one line of WAL history (a branch points at a timeline): 16 random bytes,
 * printed as 32 lowercase hex digits, the form used in paths, URLs and metadata.
 */
public final class TimelineId implements Comparable<TimelineId> {

    public static final int BYTES = 16;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final HexFormat HEX = HexFormat.of();

    private final byte[] bytes;

    private TimelineId(byte[] bytes) {
        this.bytes = bytes;
    }

    public static TimelineId random() {
        byte[] b = new byte[BYTES];
        RANDOM.nextBytes(b);
        return new TimelineId(b);
    }

    /** Parses 32 hex digits (either case). */
    public static TimelineId parse(String hex) {
        if (hex == null || hex.length() != BYTES * 2) {
            throw new IllegalArgumentException("a timeline id is " + (BYTES * 2) + " hex digits, got '" + hex + "'");
        }
        try {
            return new TimelineId(HEX.parseHex(hex));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("a timeline id is " + (BYTES * 2) + " hex digits, got '" + hex + "'");
        }
    }

    public static TimelineId of(byte[] bytes) {
        if (bytes.length != BYTES) {
            throw new IllegalArgumentException("a timeline id is " + BYTES + " bytes, got " + bytes.length);
        }
        return new TimelineId(bytes.clone());
    }

    public byte[] toBytes() {
        return bytes.clone();
    }

    @Override
    public int compareTo(TimelineId o) {
        return Arrays.compareUnsigned(bytes, o.bytes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TimelineId t && Arrays.equals(bytes, t.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return HEX.formatHex(bytes);
    }
}
