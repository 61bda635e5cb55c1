package dev.strata.safekeeper.timeline;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import dev.strata.pgcore.term.TermHistory;

/**
 * A timeline's state on one safekeeper, as the management API and peers see it.
 * {@code remoteConsistentLsn}: what the pageserver reported durable; {@code walRetainedFromLsn}:
 * where the WAL still on this safekeeper's disk begins; {@code offloadedLsn}: WAL below it is in
 * object storage (INVALID when this safekeeper has no remote storage).
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
        String receiver,
        Lsn offloadedLsn) {

    /**
     * Committed WAL in complete segments not yet in object storage, in bytes: the uploader's
     * backlog (0 without remote storage).
     */
    public long offloadBacklogBytes(int segmentSize) {
        if (!offloadedLsn.isValid() || !commitLsn.isValid()) {
            return 0;
        }
        Lsn uploadable = commitLsn.segmentStart(segmentSize);
        return uploadable.isAfter(offloadedLsn) ? uploadable.minus(offloadedLsn) : 0;
    }

    /** The last term of the WAL this safekeeper holds (not the promised term). */
    public Term lastLogTerm() {
        return termHistory.upTo(flushLsn).lastTerm();
    }
}
