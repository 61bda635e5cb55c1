package dev.strata.safekeeper.control;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import dev.strata.pgcore.term.TermHistory;
import java.util.Objects;

/**
 * What a safekeeper keeps durably about one timeline, besides the WAL itself: the body of its
 * control file. Immutable; {@code withX} returns the changed copy that the caller persists.
 *
 * @param timelineId          the timeline
 * @param systemId            the PostgreSQL system identifier of the timeline's WAL (0 until known)
 * @param walSegmentSize      WAL segment size in bytes
 * @param promisedTerm        the highest term this safekeeper has voted for; it never accepts WAL of a lower one
 * @param termHistory         which term wrote which part of the WAL held here
 * @param timelineStartLsn    where this timeline's WAL begins (a segment start)
 * @param flushLsn            flush LSN as of the last persist; the truth after a crash is the valid WAL prefix
 * @param commitLsn           end of WAL known to be on a quorum in the current term (persisted lazily)
 * @param offloadedLsn        end of WAL copied to object storage
 * @param remoteConsistentLsn the pageserver's remote-consistent LSN for this timeline
 */
public record SafekeeperState(
        TimelineId timelineId,
        long systemId,
        int walSegmentSize,
        Term promisedTerm,
        TermHistory termHistory,
        Lsn timelineStartLsn,
        Lsn flushLsn,
        Lsn commitLsn,
        Lsn offloadedLsn,
        Lsn remoteConsistentLsn) {

    public SafekeeperState {
        Objects.requireNonNull(timelineId, "timelineId is null");
        Objects.requireNonNull(promisedTerm, "promisedTerm is null");
        Objects.requireNonNull(termHistory, "termHistory is null");
        Objects.requireNonNull(timelineStartLsn, "timelineStartLsn is null");
        Objects.requireNonNull(flushLsn, "flushLsn is null");
        Objects.requireNonNull(commitLsn, "commitLsn is null");
        Objects.requireNonNull(offloadedLsn, "offloadedLsn is null");
        Objects.requireNonNull(remoteConsistentLsn, "remoteConsistentLsn is null");
        if (walSegmentSize <= 0 || Integer.bitCount(walSegmentSize) != 1) {
            throw new IllegalArgumentException("WAL segment size must be a power of two, got " + walSegmentSize);
        }
        if (termHistory.lastTerm().isAfter(promisedTerm)) {
            throw new IllegalArgumentException("term history " + termHistory + " is ahead of the promised term " + promisedTerm);
        }
    }

    /** A new timeline whose WAL starts at {@code startLsn}; no vote given yet. */
    public static SafekeeperState create(TimelineId id, long systemId, int walSegmentSize, Lsn startLsn) {
        return new SafekeeperState(id, systemId, walSegmentSize, Term.ZERO, TermHistory.EMPTY,
                startLsn, startLsn, startLsn, startLsn, startLsn);
    }

    public SafekeeperState withPromisedTerm(Term term) {
        return new SafekeeperState(timelineId, systemId, walSegmentSize, term, termHistory, timelineStartLsn,
                flushLsn, commitLsn, offloadedLsn, remoteConsistentLsn);
    }

    public SafekeeperState withTermHistory(TermHistory history) {
        return new SafekeeperState(timelineId, systemId, walSegmentSize, promisedTerm, history, timelineStartLsn,
                flushLsn, commitLsn, offloadedLsn, remoteConsistentLsn);
    }

    public SafekeeperState withFlushLsn(Lsn lsn) {
        return new SafekeeperState(timelineId, systemId, walSegmentSize, promisedTerm, termHistory, timelineStartLsn,
                lsn, commitLsn, offloadedLsn, remoteConsistentLsn);
    }

    public SafekeeperState withCommitLsn(Lsn lsn) {
        return new SafekeeperState(timelineId, systemId, walSegmentSize, promisedTerm, termHistory, timelineStartLsn,
                flushLsn, lsn, offloadedLsn, remoteConsistentLsn);
    }

    public SafekeeperState withSystemId(long id) {
        return new SafekeeperState(timelineId, id, walSegmentSize, promisedTerm, termHistory, timelineStartLsn,
                flushLsn, commitLsn, offloadedLsn, remoteConsistentLsn);
    }

    public SafekeeperState withOffloadedLsn(Lsn lsn) {
        return new SafekeeperState(timelineId, systemId, walSegmentSize, promisedTerm, termHistory, timelineStartLsn,
                flushLsn, commitLsn, lsn, remoteConsistentLsn);
    }

    public SafekeeperState withRemoteConsistentLsn(Lsn lsn) {
        return new SafekeeperState(timelineId, systemId, walSegmentSize, promisedTerm, termHistory, timelineStartLsn,
                flushLsn, commitLsn, offloadedLsn, lsn);
    }
}
