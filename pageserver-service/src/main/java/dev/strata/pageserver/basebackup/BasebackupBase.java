package dev.strata.pageserver.basebackup;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.nio.charset.StandardCharsets;
import java.util.Properties;

/**
 * A data directory a compute already holds: timeline {@code timeline} exactly at {@code lsn}
 * (the end of its clean shutdown checkpoint). A basebackup requested with a base may be
 * incremental: only what differs between the base and the requested point (docs/basebackup.md,
 * "Incremental basebackups").
 */
public record BasebackupBase(TimelineId timeline, Lsn lsn) {

    public BasebackupBase {
        if (timeline == null || lsn == null || !lsn.isValid()) {
            throw new IllegalArgumentException("a basebackup base needs a timeline and a valid LSN");
        }
    }

    /** The incremental archive's first entry, {@link IncrementalFormat#MARKER}: which base it applies to. */
    byte[] encodeMarker() {
        return ("base_timeline=" + timeline + "\nbase_lsn=" + lsn + "\n").getBytes(StandardCharsets.US_ASCII);
    }

    /** Reads a marker entry; refuses anything else. */
    public static BasebackupBase decodeMarker(byte[] content) {
        Properties p = new Properties();
        try {
            p.load(new java.io.StringReader(new String(content, StandardCharsets.US_ASCII)));
            return new BasebackupBase(TimelineId.parse(p.getProperty("base_timeline")),
                    Lsn.parse(p.getProperty("base_lsn")));
        } catch (java.io.IOException | RuntimeException e) {
            throw new IllegalArgumentException("not an incremental basebackup marker: " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return timeline + "@" + lsn;
    }
}
