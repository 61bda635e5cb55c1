package dev.strata.pageserver.timeline;

import dev.strata.pgcore.lsn.Lsn;

/**
 * What {@link Timeline#lsnForTimestamp} found for an instant T (docs/pageserver.md, "Branches"):
 * <ul>
 * <li>{@link Kind#PRESENT}: the end of the last commit whose timestamp is at or before T, with a
 * later commit after T: a branch there sees exactly the transactions committed by T;</li>
 * <li>{@link Kind#PAST}: every commit in the timeline's history is after T: {@code lsn} is the
 * bottom of its history (its start), the closest it can get;</li>
 * <li>{@link Kind#FUTURE}: no commit is after T (yet): {@code lsn} is the last record LSN;</li>
 * <li>{@link Kind#NODATA}: no commit at all in the history: {@code lsn} is the last record LSN.</li>
 * </ul>
 */
public record LsnForTimestamp(Lsn lsn, Kind kind) {

    public enum Kind { PRESENT, PAST, FUTURE, NODATA }

    public LsnForTimestamp {
        if (lsn == null || kind == null) {
            throw new IllegalArgumentException("an LSN for a timestamp needs an LSN and a kind");
        }
    }
}
