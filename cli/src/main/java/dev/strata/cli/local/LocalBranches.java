package dev.strata.cli.local;

import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The local project's branches as {@code cluster.properties} keeps them: {@code branch.<name>}
 * is the timeline (the key the first versions wrote for {@code main}), and
 * {@code branch.<name>.parent|lsn|endpoint|created} the rest. Every change goes through
 * {@link #apply}, which writes all of it with one durable replace of the file: after a crash
 * the branches are as they were before a change or after it, never half of it (so no branch
 * ever points at a timeline that was not created first; see {@link LocalCluster#createBranch}).
 *
 * <p>Timelines in flight are recorded as intents, so that a crash between two steps is finished
 * or undone at the next start ({@link LocalCluster}'s recovery): {@code pending.create.<timeline>}
 * is written before a timeline is made for a branch and cleared in the write that records the
 * branch (a crash in between leaves a timeline no branch names: it is deleted);
 * {@code pending.delete.<timeline>} is written in the write that removes a branch and cleared
 * once the timeline is gone from the safekeepers and the pageserver (a crash in between: the
 * deletion is done again).
 */
final class LocalBranches {

    private static final String PREFIX = "branch.";
    private static final String PENDING_CREATE = "pending.create.";
    private static final String PENDING_DELETE = "pending.delete.";
    private final ClusterState state;

    LocalBranches(ClusterState state) {
        this.state = state;
    }

    /** Every branch, by name, in name order. */
    Map<String, LocalBranch> all() {
        Map<String, LocalBranch> out = new LinkedHashMap<>();
        for (String key : state.keys(PREFIX)) {
            String name = key.substring(PREFIX.length());
            if (name.indexOf('.') < 0) {
                out.put(name, read(name));
            }
        }
        return out;
    }

    Optional<LocalBranch> get(String name) {
        return state.get(PREFIX + name).isPresent() ? Optional.of(read(name)) : Optional.empty();
    }

    /** The branches made from {@code name}. */
    List<String> children(String name) {
        List<String> out = new ArrayList<>();
        for (LocalBranch b : all().values()) {
            if (b.parent().filter(name::equals).isPresent()) {
                out.add(b.name());
            }
        }
        return out;
    }

    private LocalBranch read(String name) {
        String p = PREFIX + name;
        TimelineId timeline = TimelineId.parse(state.require(p));
        Optional<String> parent = state.get(p + ".parent");
        Optional<Lsn> lsn = state.get(p + ".lsn").map(Lsn::parse);
        EndpointId endpoint = state.get(p + ".endpoint").map(EndpointId::of).orElse(LocalBranch.endpointFor(name));
        // Clusters made before branches existed have no creation time for main.
        Instant created = state.get(p + ".created").map(Instant::parse).orElse(Instant.EPOCH);
        return new LocalBranch(name, timeline, parent, lsn, endpoint, created);
    }

    /** Records, durably, that {@code timeline} is about to be made for a branch. */
    void intendCreate(TimelineId timeline) {
        state.put(PENDING_CREATE + timeline, Instant.now().toString());
        state.save();
    }

    /** Timelines made (or being made) for a branch whose record was never written. */
    List<TimelineId> pendingCreates() {
        return pending(PENDING_CREATE);
    }

    /** Timelines whose branch was removed and whose deletion may not have finished. */
    List<TimelineId> pendingDeletes() {
        return pending(PENDING_DELETE);
    }

    private List<TimelineId> pending(String prefix) {
        List<TimelineId> out = new ArrayList<>();
        for (String key : state.keys(prefix)) {
            out.add(TimelineId.parse(key.substring(prefix.length())));
        }
        return out;
    }

    /** Clears the intents on {@code timeline} (it was made and recorded, or undone, or deleted). */
    void settled(TimelineId timeline) {
        state.remove(PENDING_CREATE + timeline);
        state.remove(PENDING_DELETE + timeline);
        state.save();
    }

    /** Puts and removes branches, then saves the state once (durable, atomic). */
    void apply(List<LocalBranch> put, List<String> remove) {
        apply(put, remove, List.of());
    }

    /**
     * Puts and removes branches, clears the create intents of the timelines {@code put} names,
     * and records a delete intent for {@code toDelete}; one durable save.
     */
    void apply(List<LocalBranch> put, List<String> remove, List<TimelineId> toDelete) {
        for (TimelineId t : toDelete) {
            state.put(PENDING_DELETE + t, Instant.now().toString());
        }
        for (String name : remove) {
            String p = PREFIX + name;
            for (String key : List.of(p, p + ".parent", p + ".lsn", p + ".endpoint", p + ".created")) {
                state.remove(key);
            }
        }
        for (LocalBranch b : put) {
            state.remove(PENDING_CREATE + b.timeline());
            String p = PREFIX + b.name();
            state.put(p, b.timeline().toString());
            putOrRemove(p + ".parent", b.parent().orElse(null));
            putOrRemove(p + ".lsn", b.branchLsn().map(Lsn::toString).orElse(null));
            state.put(p + ".endpoint", b.endpoint().toString());
            state.put(p + ".created", b.created().toString());
            if (b.name().equals(LocalCluster.BRANCH)) {
                state.put("timeline", b.timeline().toString()); // the key the first versions read
            }
        }
        state.save();
    }

    private void putOrRemove(String key, String value) {
        if (value == null) {
            state.remove(key);
        } else {
            state.put(key, value);
        }
    }
}
