package dev.strata.safekeeper.election;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import dev.strata.pgcore.term.TermHistory;
import java.util.Objects;

/**
 * Phase 2 of an election: the proposer of {@code term} won a majority. {@code history} is the
 * donor's term history up to {@code epochStartLsn} with {@code (term, epochStartLsn)} appended.
 * Each voter truncates what diverges from it, fetches what it lacks below the epoch start
 * from the donor, and adopts the history.
 */
public record ElectedRequest(TimelineId timelineId, Term term, TermHistory history, Lsn epochStartLsn,
                             NodeId donor, String donorUrl) {
    public ElectedRequest {
        Objects.requireNonNull(timelineId, "timelineId is null");
        Objects.requireNonNull(term, "term is null");
        Objects.requireNonNull(history, "history is null");
        Objects.requireNonNull(epochStartLsn, "epochStartLsn is null");
        Objects.requireNonNull(donor, "donor is null");
        Objects.requireNonNull(donorUrl, "donorUrl is null");
        if (!history.lastTerm().equals(term) || !history.entries().getLast().lsn().equals(epochStartLsn)) {
            throw new IllegalArgumentException("elected history " + history + " must end with (" + term + ", " + epochStartLsn + ")");
        }
    }
}
