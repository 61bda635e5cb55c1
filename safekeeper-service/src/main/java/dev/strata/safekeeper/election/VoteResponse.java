package dev.strata.safekeeper.election;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import dev.strata.pgcore.term.TermHistory;
import dev.strata.pgcore.term.TermLsn;

/**
 * An acceptor's answer to a {@link VoteRequest}. When {@code granted}, the promise is durable
 * and the acceptor's WAL position is attached so the proposer can pick the donor.
 *
 * @param promisedTerm the acceptor's promised term after handling the request (the request's term if granted)
 * @param history      the acceptor's term history, limited to the WAL it holds
 * @param flushLsn     end of the acceptor's durable WAL
 */
public record VoteResponse(boolean granted, Term promisedTerm, TermHistory history, Lsn flushLsn, Lsn timelineStartLsn) {

    /** The (last term, flush LSN) the donor is chosen by: the highest wins. */
    public TermLsn position() {
        return new TermLsn(history.lastTerm(), flushLsn);
    }
}
