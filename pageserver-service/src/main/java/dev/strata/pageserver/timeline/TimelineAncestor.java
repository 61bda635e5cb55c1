package dev.strata.pageserver.timeline;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;

/**
 * Where a branch comes from: the parent timeline and the LSN it branched at (the child's start).
 * Reads of the child below its own WAL continue in the parent at min(L, {@code lsn}).
 */
public record TimelineAncestor(TimelineId timelineId, Lsn lsn) {

    public TimelineAncestor {
        if (timelineId == null || lsn == null || !lsn.isValid()) {
            throw new IllegalArgumentException("an ancestor needs a timeline id and a valid LSN");
        }
    }
}
