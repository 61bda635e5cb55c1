package dev.strata.cli.local;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.net.URI;
import java.util.List;

/** A safekeeper of the local cluster: in this JVM, or a child process that can be killed. */
public interface LocalSafekeeper extends AutoCloseable {

    NodeId id();

    /** Management API base URL. */
    URI url();

    int walsenderPort();

    /** Creates the timeline; one that exists already is left as it is. */
    void createTimeline(TimelineId id, long systemId, int walSegmentSize, Lsn start);

    /** Whether this safekeeper has the timeline (throws if it cannot answer). */
    boolean hasTimeline(TimelineId id);

    /** Deletes the timeline and its WAL here; one that does not exist is no error. */
    void deleteTimeline(TimelineId id);

    /** Where the timeline's WAL stands here: flushed to this disk, and known committed by a quorum. */
    record Positions(Lsn flush, Lsn commit) {
    }

    /** The timeline's positions here (throws if the safekeeper or the timeline cannot answer). */
    Positions positions(TimelineId id);

    /**
     * Where each term's WAL begins on this safekeeper's copy of the timeline, oldest first: the
     * LSNs at which computes started (each with the shutdown checkpoint record its basebackup
     * carried). Throws if the safekeeper or the timeline cannot answer.
     */
    List<Lsn> termStarts(TimelineId id);

    /** One line: term, flush and commit LSN of the timeline, or why not. */
    String status(TimelineId id);

    /** kill -9 (child processes only). */
    void kill();

    /** Starts it again after {@link #kill} on the same ports and data (child processes only). */
    void restart();

    boolean isAlive();

    /** The process id of a child process (to pause it with SIGSTOP in tests); empty in this JVM. */
    default java.util.OptionalLong pid() {
        return java.util.OptionalLong.empty();
    }

    @Override
    void close();
}
