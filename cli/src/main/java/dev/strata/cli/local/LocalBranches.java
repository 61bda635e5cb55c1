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
 */
final class LocalBranches {

    private static final String PREFIX = "branch.";
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

    /** Puts and removes branches, then saves the state once (durable, atomic). */
    void apply(List<LocalBranch> put, List<String> remove) {
        for (String name : remove) {
            String p = PREFIX + name;
            for (String key : List.of(p, p + ".parent", p + ".lsn", p + ".endpoint", p + ".created")) {
                state.remove(key);
            }
        }
        for (LocalBranch b : put) {
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
