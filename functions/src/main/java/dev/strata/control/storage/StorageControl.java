package dev.strata.control.storage;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;

/**
 * The storage side of the control plane: timelines on the pageserver and the safekeepers, and the
 * safekeeper election a compute runs before it writes. Implemented by the local cluster (the cli)
 * and the AWS deployment; the handlers only see this interface. Idempotent like
 * {@link dev.strata.control.compute.ComputeProvisioner}: creating a timeline that exists, or deleting
 * one that does not, succeeds.
 */
public interface StorageControl {

    /** Runs the election for {@code timeline} on behalf of the compute on {@code agent}. */
    Election elect(TimelineId timeline, NodeId agent);

    /** Creates the timeline (initdb image on the pageserver, empty WAL on the safekeepers). */
    void createTimeline(TimelineId timeline, int pgVersion);

    /** Deletes the timeline everywhere. */
    void deleteTimeline(TimelineId timeline);
}
