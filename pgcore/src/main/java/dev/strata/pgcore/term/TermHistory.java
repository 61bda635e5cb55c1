package dev.strata.pgcore.term;

import dev.strata.pgcore.lsn.Lsn;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Which term wrote which part of a timeline's WAL: entries (term, start LSN) with strictly
 * increasing terms and non-decreasing start LSNs. Term {@code t_i} wrote
 * {@code [lsn_i, lsn_{i+1})}; the last term writes from its start onwards.
 *
 * <p>Two safekeepers hold the same WAL up to the highest common point of their histories
 * ({@link #highestCommonPoint}): that is where an acceptor truncates a divergent tail
 * before taking the donor's WAL.
 */
public record TermHistory(List<TermLsn> entries) {

    public static final TermHistory EMPTY = new TermHistory(List.of());

    public TermHistory {
        entries = List.copyOf(entries);
        for (int i = 1; i < entries.size(); i++) {
            TermLsn prev = entries.get(i - 1);
            TermLsn cur = entries.get(i);
            if (!cur.term().isAfter(prev.term())) {
                throw new IllegalArgumentException("term history terms must increase: " + prev + " then " + cur);
            }
            if (cur.lsn().isBefore(prev.lsn())) {
                throw new IllegalArgumentException("term history LSNs must not decrease: " + prev + " then " + cur);
            }
        }
    }

    public static TermHistory of(TermLsn... entries) {
        return new TermHistory(List.of(entries));
    }

    public boolean isEmpty() {
        return entries.isEmpty();
    }

    public int size() {
        return entries.size();
    }

    /** The last entry's term, or {@link Term#ZERO} for an empty history. */
    public Term lastTerm() {
        return entries.isEmpty() ? Term.ZERO : entries.getLast().term();
    }

    /**
     * The history of WAL that ends at {@code flush}: entries that start after it are dropped
     * (a term that started at or beyond our end has written nothing here). An entry starting
     * exactly at {@code flush} is kept, as the term that the next byte belongs to.
     */
    public TermHistory upTo(Lsn flush) {
        List<TermLsn> kept = new ArrayList<>();
        for (TermLsn e : entries) {
            if (e.lsn().compareTo(flush) <= 0) {
                kept.add(e);
            }
        }
        return new TermHistory(kept);
    }

    /** The term that wrote the byte at {@code lsn}, if any term in this history did. */
    public Optional<Term> termAt(Lsn lsn) {
        Term found = null;
        for (TermLsn e : entries) {
            if (e.lsn().compareTo(lsn) <= 0) {
                found = e.term();
            } else {
                break;
            }
        }
        return Optional.ofNullable(found);
    }

    /** This history with {@code entry} appended; its term must be above the last one. */
    public TermHistory append(TermLsn entry) {
        List<TermLsn> next = new ArrayList<>(entries);
        next.add(entry);
        return new TermHistory(next);
    }

    /**
     * The highest (term, LSN) up to which WAL described by {@code mine} (ending at
     * {@code myEnd}) and WAL described by {@code theirs} (ending at {@code theirEnd}) are the
     * same: the last term both histories share (with the same start), ending where the
     * earlier of the two stops writing it. Empty when the histories share no term.
     */
    public static Optional<TermLsn> highestCommonPoint(TermHistory mine, Lsn myEnd, TermHistory theirs, Lsn theirEnd) {
        List<TermLsn> a = mine.entries;
        List<TermLsn> b = theirs.entries;
        int common = -1;
        for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
            if (!a.get(i).equals(b.get(i))) {
                break;
            }
            common = i;
        }
        if (common < 0) {
            return Optional.empty();
        }
        Lsn myTermEnd = common + 1 < a.size() ? a.get(common + 1).lsn() : myEnd;
        Lsn theirTermEnd = common + 1 < b.size() ? b.get(common + 1).lsn() : theirEnd;
        return Optional.of(new TermLsn(a.get(common).term(), Lsn.min(myTermEnd, theirTermEnd)));
    }

    @Override
    public String toString() {
        return entries.toString();
    }
}
