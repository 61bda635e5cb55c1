package dev.strata.control.storage;

import dev.strata.control.BranchPointException;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;

/**
 * The storage side of the control plane: timelines on the pageserver and the safekeepers, and the
 * safekeeper election a compute runs before it writes. Implemented by the local cluster (the cli)
 * and the AWS deployment; the handlers only see this interface. Idempotent like
 * {@link dev.strata.control.compute.ComputeProvisioner}: creating a timeline that exists (with the
 * same parent and LSN), or deleting one that does not, succeeds.
 */
public interface StorageControl {

    /** Runs the election for {@code timeline} on behalf of the compute on {@code agent}. */
    Election elect(TimelineId timeline, NodeId agent);

    /** Creates the timeline (initdb image on the pageserver, empty WAL on the safekeepers). */
    void createTimeline(TimelineId timeline, int pgVersion);

    /**
     * The LSN of {@code target} on {@code parent}: its head (the last record LSN the pageserver has),
     * the LSN itself if {@code parent} has it (at or below its head, at or above where its own history
     * starts), or for a time the pageserver's {@code lsnForTimestamp} answer: PRESENT gives the LSN
     * after the last commit at or before the time; PAST (before the first commit), FUTURE (after the
     * last commit) and NODATA throw {@link BranchPointException} with a message naming the timeline,
     * the time and why. Reads only: the same target on the same history gives the same LSN.
     *
     * @throws BranchPointException the parent's history does not contain the point (permanent)
     */
    Lsn resolveBranchPoint(TimelineId parent, BranchTarget target);

    /**
     * Creates {@code child} as a branch of {@code parent} at {@code at}: the pageserver's timeline with
     * {@code parent} as ancestor at {@code at}, and the safekeepers' timeline whose WAL starts at
     * {@code at}. Idempotent: a child that exists with that parent and LSN is success; a child that
     * exists with another parent or LSN is an {@link IllegalStateException} (permanent).
     */
    void createBranchTimeline(TimelineId child, TimelineId parent, Lsn at);

    /**
     * Deletes the timeline everywhere (pageserver, its layers and index in object storage, safekeepers).
     * Deleting one that does not exist succeeds. The caller makes sure no other timeline has it as
     * ancestor (the metadata's branch tree: a branch with children is not deleted).
     */
    void deleteTimeline(TimelineId timeline);
}
