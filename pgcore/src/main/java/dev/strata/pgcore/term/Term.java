package dev.strata.pgcore.term;

/**
 * An election round of the safekeepers (Paxos ballot). A compute writes WAL in exactly one
 * term; a safekeeper that has promised a higher term no longer accepts its WAL.
 * Term 0 means "never voted".
 */
public record Term(long value) implements Comparable<Term> {

    public static final Term ZERO = new Term(0);

    public Term {
        if (value < 0) {
            throw new IllegalArgumentException("a term is non-negative, got " + value);
        }
    }

    public static Term of(long value) {
        return new Term(value);
    }

    public Term next() {
        return new Term(Math.addExact(value, 1));
    }

    public boolean isAfter(Term other) {
        return value > other.value;
    }

    @Override
    public int compareTo(Term o) {
        return Long.compare(value, o.value);
    }

    @Override
    public String toString() {
        return Long.toString(value);
    }
}
