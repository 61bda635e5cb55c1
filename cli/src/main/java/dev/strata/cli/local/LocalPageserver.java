package dev.strata.cli.local;

import dev.strata.compute.pageserver.PageserverAccess;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.util.List;

/** The pageserver as the local cluster uses it: in-process, one per cluster. */
public interface LocalPageserver extends AutoCloseable {

    /** A timeline created from initdb: what the safekeepers need to create theirs. */
    record CreatedTimeline(long systemId, int walSegmentSize, Lsn startLsn) {
    }

    /** A safekeeper walsender the pageserver streams committed WAL from. */
    record WalSource(String host, int port, String user, String password) {
    }

    /** A branch's timeline made on the pageserver: where its WAL starts, and what the safekeepers need. */
    record BranchedTimeline(Lsn branchLsn, long systemId, int walSegmentSize) {
    }

    /**
     * The LSN a time resolves to on a timeline, and how: {@code present} (a commit at or before
     * the time exists, and one after it), {@code past} (before the timeline's first commit),
     * {@code future} (after its last commit) or {@code nodata} (no commit at all).
     */
    record LsnAtTime(Lsn lsn, String kind) {
    }

    boolean hasTimeline(TimelineId id);

    /** Every timeline the pageserver has. */
    List<TimelineId> timelines();

    /**
     * Makes {@code child} a branch of {@code parent} at {@code at} (null: the parent's newest
     * WAL): the child reads the parent's history below that LSN and its own WAL, from
     * {@code sources}, above it.
     */
    BranchedTimeline branchTimeline(TimelineId child, TimelineId parent, Lsn at, List<WalSource> sources);

    /**
     * What the safekeepers need of an existing timeline: its cluster identity and where its WAL
     * starts (a branch's branch point, a root timeline's import LSN; in {@code branchLsn}).
     */
    BranchedTimeline branchOf(TimelineId child);

    /** The LSN of the last commit at or before {@code time} on the timeline (docs/pageserver.md, "Branches"). */
    LsnAtTime lsnForTimestamp(TimelineId id, java.time.Instant time);

    /** Waits until the pageserver has ingested the timeline's WAL up to {@code lsn}; throws after {@code timeout}. */
    void awaitIngest(TimelineId id, Lsn lsn, java.time.Duration timeout);

    /**
     * Where a timeline stands and what it holds: its newest WAL, the bytes of the layer files it
     * holds itself (what only this branch keeps: its parent's history is not counted), and its
     * logical size (the relations' sizes at its newest WAL; -1 if unknown).
     */
    record TimelineSizes(Lsn lastRecordLsn, long layerBytes, long logicalSize) {
    }

    TimelineSizes sizes(TimelineId id);

    /** The newest WAL the pageserver has of the timeline. */
    Lsn lastRecordLsn(TimelineId id);

    /** Deletes the timeline here and its history in the object store; one that does not exist is no error. */
    void deleteTimeline(TimelineId id);

    /** Runs initdb (superuser {@code user} with {@code password}) and imports it as a new timeline. */
    CreatedTimeline createTimeline(TimelineId id, String user, String password);

    /**
     * Attaches a timeline this pageserver does not have from the object store (its directory
     * was lost): reads the newest index only, layers come on demand, and ingest resumes at the
     * remote-consistent LSN from {@code sources}.
     */
    void attachTimeline(TimelineId id, List<WalSource> sources);

    /** Where the timeline's WAL comes from (set at every start: safekeeper ports may change). */
    void setWalSources(TimelineId id, List<WalSource> sources);

    /**
     * Wait-for-LSN and basebackup over the page service, for the compute agent, presenting
     * {@code computeToken} (the compute's own, scope compute, its timeline only).
     */
    PageserverAccess access(String computeToken);

    /** The page service's port on 127.0.0.1 (computes, and compute agents started by tests, read pages there). */
    int pageServicePort();

    /** The management API's base URL on loopback ({@code pageserverapi} tokens), as the control plane calls it. */
    java.net.URI apiUrl();

    /** Human-readable status lines for the timeline (state and LSNs). */
    List<String> status(TimelineId id);

    /** kill -9 (child processes only). */
    void kill();

    /** Starts it again after {@link #kill} on the same ports and data (child processes only). */
    void restart();

    /**
     * Starts it again after {@link #kill} on the same ports and data, writing to object storage
     * under {@code remote}'s (new) generation (child processes only).
     */
    void restart(dev.strata.remote.RemoteStorageConfig remote);

    boolean isAlive();

    @Override
    void close();
}
