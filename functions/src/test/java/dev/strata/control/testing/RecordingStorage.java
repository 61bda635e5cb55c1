package dev.strata.control.testing;

import dev.strata.control.BranchPointException;
import dev.strata.control.storage.BranchTarget;
import dev.strata.control.storage.Election;
import dev.strata.control.storage.StorageControl;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A FAKE {@link StorageControl}, for tests only, like {@link RecordingCompute}: the seam to the
 * pageserver and safekeepers, whose real implementations live with the cluster (cli) and the AWS
 * deployment. It keeps the timelines in memory (idempotent create and delete), each with its
 * ancestor and branch LSN, its head and the commits a test gave it ({@link #commit}), resolves branch
 * points as the pageserver's {@code lsnForTimestamp} does (PAST, FUTURE and NODATA refused), refuses
 * to delete a timeline another one has as ancestor, hands out a new term per election, records every
 * call, and injects faults through {@link #faults()}: the next calls of {@code elect},
 * {@code createTimeline}, {@code resolveBranchPoint}, {@code createBranchTimeline} or
 * {@code deleteTimeline} throw or block (faults the real parts cannot produce on demand).
 */
public final class RecordingStorage implements StorageControl {

    /** The LSN every election here starts at, and the head of a new root timeline. */
    public static final Lsn START_LSN = Lsn.parse("0/1A2B3C8");

    /** A timeline as the fake keeps it. */
    public record Timeline(Optional<TimelineId> ancestor, Optional<Lsn> branchLsn, Lsn head,
                           List<Commit> commits) {
    }

    /** A commit record: its time and the LSN just after it. */
    public record Commit(Instant time, Lsn lsn) {
    }

    private final Faults faults = new Faults();
    private final Map<TimelineId, Timeline> timelines = new HashMap<>();
    private final Map<TimelineId, Long> terms = new HashMap<>();

    public Faults faults() {
        return faults;
    }

    @Override
    public Election elect(TimelineId timeline, NodeId agent) {
        faults.enter("elect", "elect " + timeline + " " + agent);
        synchronized (this) {
            return new Election(terms.merge(timeline, 1L, Long::sum), START_LSN);
        }
    }

    @Override
    public void createTimeline(TimelineId timeline, int pgVersion) {
        faults.enter("createTimeline", "createTimeline " + timeline + " " + pgVersion);
        synchronized (this) {
            timelines.putIfAbsent(timeline, new Timeline(Optional.empty(), Optional.empty(), START_LSN, List.of()));
        }
    }

    @Override
    public Lsn resolveBranchPoint(TimelineId parent, BranchTarget target) {
        faults.enter("resolveBranchPoint", "resolveBranchPoint " + parent + " " + target);
        synchronized (this) {
            Timeline t = existing(parent);
            return switch (target) {
                case BranchTarget.Head h -> t.head();
                case BranchTarget.AtLsn l -> {
                    if (l.lsn().isAfter(t.head())) {
                        throw new BranchPointException("timeline " + parent + " has no LSN " + l.lsn() + ": its head is "
                                + t.head());
                    }
                    yield l.lsn();
                }
                case BranchTarget.AtTime at -> {
                    List<Commit> cs = t.commits();
                    if (cs.isEmpty()) {
                        throw new BranchPointException("timeline " + parent + " has no commits to resolve " + at.time()
                                + " (NODATA)");
                    }
                    if (at.time().isBefore(cs.get(0).time())) {
                        throw new BranchPointException(at.time() + " is before the history of timeline " + parent
                                + " (PAST): its first commit is at " + cs.get(0).time());
                    }
                    Commit last = cs.get(cs.size() - 1);
                    if (at.time().isAfter(java.time.Instant.now())) {
                        throw new BranchPointException(at.time() + " is in the future (FUTURE)");
                    }
                    if (at.time().isAfter(last.time())) {
                        yield t.head(); // after the last commit: nothing happened since (BranchTarget's rule)
                    }
                    Lsn lsn = cs.get(0).lsn();
                    for (Commit c : cs) {
                        if (!c.time().isAfter(at.time())) {
                            lsn = c.lsn();
                        }
                    }
                    yield lsn;
                }
            };
        }
    }

    @Override
    public void createBranchTimeline(TimelineId child, TimelineId parent, Lsn at) {
        faults.enter("createBranchTimeline", "createBranchTimeline " + child + " " + parent + " " + at);
        synchronized (this) {
            Timeline existing = timelines.get(child);
            if (existing != null) {
                if (!existing.ancestor().equals(Optional.of(parent)) || !existing.branchLsn().equals(Optional.of(at))) {
                    throw new IllegalStateException("timeline " + child + " exists as a branch of "
                            + existing.ancestor() + " at " + existing.branchLsn() + ", not of " + parent + " at " + at);
                }
                return;
            }
            Timeline p = existing(parent);
            if (at.isAfter(p.head())) {
                throw new IllegalStateException("timeline " + parent + " has no LSN " + at + ": its head is " + p.head());
            }
            List<Commit> inherited = p.commits().stream().filter(c -> !c.lsn().isAfter(at)).toList();
            timelines.put(child, new Timeline(Optional.of(parent), Optional.of(at), at, inherited));
        }
    }

    @Override
    public void deleteTimeline(TimelineId timeline) {
        faults.enter("deleteTimeline", "deleteTimeline " + timeline);
        synchronized (this) {
            List<TimelineId> children = timelines.entrySet().stream()
                    .filter(e -> e.getValue().ancestor().equals(Optional.of(timeline))).map(Map.Entry::getKey).toList();
            if (!children.isEmpty()) {
                throw new IllegalStateException("timeline " + timeline + " is the ancestor of " + children);
            }
            timelines.remove(timeline);
        }
    }

    /** A commit on {@code timeline} at {@code time}, ending at {@code lsn}, which becomes its head. */
    public synchronized void commit(TimelineId timeline, Instant time, Lsn lsn) {
        Timeline t = existing(timeline);
        List<Commit> cs = new ArrayList<>(t.commits());
        cs.add(new Commit(time, lsn));
        timelines.put(timeline, new Timeline(t.ancestor(), t.branchLsn(), lsn, List.copyOf(cs)));
    }

    public synchronized Set<TimelineId> timelines() {
        return Set.copyOf(timelines.keySet());
    }

    public synchronized Optional<Timeline> timeline(TimelineId id) {
        return Optional.ofNullable(timelines.get(id));
    }

    private Timeline existing(TimelineId id) {
        Timeline t = timelines.get(id);
        if (t == null) {
            throw new IllegalStateException("timeline " + id + " does not exist");
        }
        return t;
    }
}
