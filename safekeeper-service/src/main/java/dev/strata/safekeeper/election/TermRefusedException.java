package dev.strata.safekeeper.election;

import dev.strata.pgcore.term.Term;

/**
 * A message from a term this safekeeper no longer serves (or has not been told about): a stale
 * compute, a stale proposer, or one that skipped a step. The sender must stop.
 */
public final class TermRefusedException extends RuntimeException {

    private final Term promisedTerm;

    public TermRefusedException(String message, Term promisedTerm) {
        super(message);
        this.promisedTerm = promisedTerm;
    }

    public Term promisedTerm() {
        return promisedTerm;
    }
}
