package dev.strata.safekeeper.timeline;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import dev.strata.pgcore.term.TermHistory;

/**
 * A timeline's state on one safekeeper, as the management API and peers see it.
 * {@code remoteConsistentLsn}: what the pageserver reported durable; {@code walRetainedFromLsn}:
 * where the WAL still on this safekeeper's disk begins.
 */
public record TimelineStatus(
        TimelineId timelineId,
        Term promisedTerm,
        TermHistory termHistory,
        Lsn timelineStartLsn,
        Lsn flushLsn,
        Lsn commitLsn,
        Lsn remoteConsistentLsn,
        Lsn walRetainedFromLsn,
        String receiver) {

    /** The last term of the WAL this safekeeper holds (not the promised term). */
    public Term lastLogTerm() {
        return termHistory.upTo(flushLsn).lastTerm();
    }
}
