package dev.strata.pageserver.layer;

import dev.strata.pgcore.lsn.Lsn;

/**
 * A half-open LSN interval [start, end) covered by a layer. A delta layer holds values whose
 * LSN lies in it; an image layer at LSN L has the range [L, L+1).
 */
public record LsnRange(Lsn start, Lsn end) {

    public LsnRange {
        if (start == null || end == null) {
            throw new IllegalArgumentException("LSN range bounds must not be null");
        }
        if (start.compareTo(end) >= 0) {
            throw new IllegalArgumentException("empty LSN range [" + start + ", " + end + ")");
        }
    }

    /** The range of an image layer at {@code lsn}. */
    public static LsnRange single(Lsn lsn) {
        return new LsnRange(lsn, lsn.plus(1));
    }

    public boolean contains(Lsn lsn) {
        return start.compareTo(lsn) <= 0 && lsn.compareTo(end) < 0;
    }

    /** The last LSN inside the range. */
    public Lsn last() {
        return new Lsn(end.value() - 1);
    }

    @Override
    public String toString() {
        return "[" + start + ", " + end + ")";
    }
}
