package dev.strata.pageserver.client;

import dev.strata.pageserver.http.Dto;
import dev.strata.pgcore.lsn.Lsn;

/**
 * What the safekeepers need to hold a timeline the pageserver made: its cluster's identity and
 * where its own WAL starts (a branch's branch point, a root timeline's import end).
 */
public record TimelineIdentity(long systemId, int walSegmentSize, Lsn walStart) {

    /** From the pageserver's status of the timeline; an error if the status names no cluster. */
    public static TimelineIdentity of(Dto.TimelineStatus t) {
        if (t.systemId() == null || t.walSegmentSize() == null) {
            throw new IllegalStateException("the pageserver has timeline " + t.timelineId() + " but reports no "
                    + "cluster identity for it");
        }
        Lsn walStart = Lsn.parse(t.ancestorLsn() != null ? t.ancestorLsn() : t.startLsn());
        return new TimelineIdentity(Long.parseUnsignedLong(t.systemId()), t.walSegmentSize(), walStart);
    }
}
