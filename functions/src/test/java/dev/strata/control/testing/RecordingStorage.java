package dev.strata.control.testing;

import dev.strata.control.storage.Election;
import dev.strata.control.storage.StorageControl;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * A FAKE {@link StorageControl}, for tests only, like {@link RecordingCompute}: the seam to the
 * pageserver and safekeepers, whose real implementations live with the cluster (cli) and the AWS
 * deployment. It keeps the timelines in memory (idempotent create and delete), hands out a new
 * term per election, records every call, and injects faults through {@link #faults()}.
 */
public final class RecordingStorage implements StorageControl {

    /** The LSN every election here starts at. */
    public static final Lsn START_LSN = Lsn.parse("0/1A2B3C8");

    private final Faults faults = new Faults();
    private final Map<TimelineId, Integer> timelines = new HashMap<>();
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
            timelines.putIfAbsent(timeline, pgVersion);
        }
    }

    @Override
    public void deleteTimeline(TimelineId timeline) {
        faults.enter("deleteTimeline", "deleteTimeline " + timeline);
        synchronized (this) {
            timelines.remove(timeline);
        }
    }

    public synchronized Set<TimelineId> timelines() {
        return Set.copyOf(timelines.keySet());
    }
}
