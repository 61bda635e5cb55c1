package dev.strata.control.storage;

import dev.strata.control.BranchPointException;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * Where a {@link BranchTarget} lies on a parent timeline: the one rule for the control plane's
 * storage steps ({@link ServiceStorageControl}, over the services' APIs) and {@code strata
 * branch|restore} on a local cluster (over its services directly), each reading through a
 * {@link Source} of its own.
 *
 * <p>The head is the newest WAL a quorum of safekeepers holds, so every acknowledged commit is in
 * it (the pageserver's newest WAL if fewer than a quorum answer); an LSN must not be above it; a
 * time is resolved by the pageserver from the commit timestamps it keeps, once it has ingested up
 * to the head (it ingests asynchronously: a commit before the time not yet ingested would be
 * missed). A time after the last commit but not after now is the head; after now is refused.
 */
public final class BranchPoints {

    /** How long a branch "as of a time" waits for the pageserver to ingest up to the committed head. */
    static final Duration INGEST_WAIT = Duration.ofSeconds(30);

    /** What resolving reads. */
    public interface Source {
        /** The pageserver's newest WAL of the timeline; empty if it has no such timeline. */
        Optional<Lsn> ingested(TimelineId timeline);

        /** The newest WAL a quorum of safekeepers holds; null if fewer than a quorum answer. */
        Lsn committedHead(TimelineId timeline);

        /** Waits until the pageserver has ingested the timeline up to {@code lsn}. */
        void awaitIngest(TimelineId timeline, Lsn lsn, Duration timeout);

        /**
         * The pageserver's answer for a time: the LSN and how it was found ({@code present},
         * {@code past}, {@code future} or {@code nodata}; docs/pageserver.md, "Branches").
         */
        Found lsnForTimestamp(TimelineId timeline, Instant time);
    }

    /** A time resolved by the pageserver. */
    public record Found(Lsn lsn, String kind) {
    }

    private BranchPoints() {
    }

    /**
     * The LSN of {@code target} on {@code parent}.
     *
     * @throws BranchPointException the parent's history does not contain the point
     */
    public static Lsn resolve(Source source, Clock clock, TimelineId parent, BranchTarget target) {
        Lsn ingested = source.ingested(parent).orElseThrow(() -> new BranchPointException(
                "timeline " + parent + " does not exist on the pageserver"));
        Lsn committed = source.committedHead(parent);
        Lsn head = committed != null ? committed : ingested;
        return switch (target) {
            case BranchTarget.Head h -> head;
            case BranchTarget.AtLsn l -> {
                if (l.lsn().isAfter(head)) {
                    throw new BranchPointException("timeline " + parent + " has no WAL at " + l.lsn()
                            + " yet (its committed head is " + head + ")");
                }
                yield l.lsn();
            }
            case BranchTarget.AtTime t -> atTime(source, clock, parent, t.time(), head);
        };
    }

    private static Lsn atTime(Source source, Clock clock, TimelineId parent, Instant time, Lsn head) {
        Instant now = clock.instant();
        if (time.isAfter(now)) {
            throw new BranchPointException(time + " is in the future (it is " + now + " now)");
        }
        source.awaitIngest(parent, head, INGEST_WAIT);
        Found found = source.lsnForTimestamp(parent, time);
        return switch (found.kind()) {
            case "present" -> found.lsn();
            case "future" -> head; // after the last commit: nothing happened since
            case "past" -> throw new BranchPointException(time + " is before the first commit of timeline " + parent
                    + " (its history starts at " + found.lsn() + ")");
            default -> throw new BranchPointException("timeline " + parent + " has no commit to find " + time
                    + " by; give an LSN instead");
        };
    }
}
