package dev.strata.safekeeper.election;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;

/**
 * An acceptor's answer to an {@link ElectedRequest}: where its WAL ends after truncating a
 * divergent tail, and whether it still needs WAL from the donor to reach the epoch start.
 */
public record ElectedResponse(Term term, Lsn flushLsn, boolean needsRecovery) {
}
