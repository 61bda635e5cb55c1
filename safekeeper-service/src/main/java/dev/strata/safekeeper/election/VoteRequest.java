package dev.strata.safekeeper.election;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.term.Term;
import java.util.Objects;

/** Phase 1 of an election: a proposer asks for a promise never to accept WAL of a term below {@code term}. */
public record VoteRequest(TimelineId timelineId, Term term) {
    public VoteRequest {
        Objects.requireNonNull(timelineId, "timelineId is null");
        Objects.requireNonNull(term, "term is null");
    }
}
