package dev.strata.pgcore.term;

import dev.strata.pgcore.lsn.Lsn;
import java.util.Comparator;
import java.util.Objects;

/**
 * A (term, LSN) pair, ordered by term then LSN: the position of a safekeeper's WAL in the
 * history of elections. The donor of an election is the voter with the highest
 * (last term, flush LSN); a term history entry is the term and the LSN where it started.
 */
public record TermLsn(Term term, Lsn lsn) implements Comparable<TermLsn> {

    private static final Comparator<TermLsn> ORDER =
            Comparator.comparing(TermLsn::term).thenComparing(TermLsn::lsn);

    public TermLsn {
        Objects.requireNonNull(term, "term is null");
        Objects.requireNonNull(lsn, "lsn is null");
    }

    public static TermLsn of(long term, Lsn lsn) {
        return new TermLsn(Term.of(term), lsn);
    }

    @Override
    public int compareTo(TermLsn o) {
        return ORDER.compare(this, o);
    }

    @Override
    public String toString() {
        return term + "@" + lsn;
    }
}
