package dev.strata.safekeeper.offload;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.remote.Checksums;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where offloaded WAL lives in object storage (docs/safekeeper.md, "WAL offload"), relative to
 * the configured prefix:
 *
 * <pre>
 *   safekeeper/v1/wal/&lt;timeline id&gt;/&lt;segment file name&gt;.&lt;CRC-32C, 8 lowercase hex digits&gt;
 * </pre>
 *
 * One object per complete segment, its bytes exactly the segment file's. The checksum in the key
 * lets a reader verify a download without another object, and S3 verified the same checksum
 * when it stored the object. Every safekeeper uploads the same committed bytes under the same
 * key, so a second upload of a segment (a takeover, a retry) replaces the object with itself.
 */
public final class WalObjectKeys {

    public static final String ROOT = "safekeeper/v1/wal/";
    private static final Pattern KEY = Pattern.compile("safekeeper/v1/wal/([0-9a-f]{32})/([0-9A-F]{24})\\.([0-9a-f]{8})");

    /** A parsed key: the segment's file name and its CRC-32C. */
    public record SegmentObject(TimelineId timeline, String segmentName, int crc32c) {
    }

    private WalObjectKeys() {
    }

    /** Every object of {@code timeline} starts with this. */
    public static String timelinePrefix(TimelineId timeline) {
        return ROOT + timeline + "/";
    }

    /** The object of segment {@code segmentName} starts with this (the CRC follows). */
    public static String segmentPrefix(TimelineId timeline, String segmentName) {
        return timelinePrefix(timeline) + segmentName + ".";
    }

    public static String key(TimelineId timeline, String segmentName, int crc32c) {
        return segmentPrefix(timeline, segmentName) + Checksums.hex(crc32c);
    }

    /** Parses a key; throws {@link IllegalArgumentException} naming it when it is not a WAL segment's key. */
    public static SegmentObject parse(String key) {
        Matcher m = KEY.matcher(key);
        if (!m.matches()) {
            throw new IllegalArgumentException("not an offloaded WAL segment key: '" + key + "'");
        }
        return new SegmentObject(TimelineId.parse(m.group(1)), m.group(2), Integer.parseUnsignedInt(m.group(3), 16));
    }
}
