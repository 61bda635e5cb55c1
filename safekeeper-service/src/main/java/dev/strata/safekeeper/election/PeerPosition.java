package dev.strata.safekeeper.election;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import java.util.Objects;

/**
 * What safekeepers tell each other about one timeline: to learn the commit LSN, and (with the
 * pageserver's remote-consistent LSN, which only the safekeeper it streams from hears first,
 * and the offloaded LSN, which only the timeline's uploader moves) how far WAL may be removed.
 * {@code offloadedLsn}: everything of the timeline below it is in object storage (INVALID:
 * nothing known, or offload is off).
 */
public record PeerPosition(NodeId node, Term promisedTerm, Term lastLogTerm, Lsn flushLsn, Lsn commitLsn,
                           Lsn remoteConsistentLsn, Lsn offloadedLsn) {

    /** A position without news of the pageserver or of object storage. */
    public PeerPosition(NodeId node, Term promisedTerm, Term lastLogTerm, Lsn flushLsn, Lsn commitLsn) {
        this(node, promisedTerm, lastLogTerm, flushLsn, commitLsn, Lsn.INVALID, Lsn.INVALID);
    }

    /** A position without news of object storage. */
    public PeerPosition(NodeId node, Term promisedTerm, Term lastLogTerm, Lsn flushLsn, Lsn commitLsn,
                        Lsn remoteConsistentLsn) {
        this(node, promisedTerm, lastLogTerm, flushLsn, commitLsn, remoteConsistentLsn, Lsn.INVALID);
    }

    public PeerPosition {
        Objects.requireNonNull(node, "node is null");
        Objects.requireNonNull(promisedTerm, "promisedTerm is null");
        Objects.requireNonNull(lastLogTerm, "lastLogTerm is null");
        Objects.requireNonNull(flushLsn, "flushLsn is null");
        Objects.requireNonNull(commitLsn, "commitLsn is null");
        Objects.requireNonNull(remoteConsistentLsn, "remoteConsistentLsn is null");
        Objects.requireNonNull(offloadedLsn, "offloadedLsn is null");
        if (lastLogTerm.isAfter(promisedTerm)) {
            throw new IllegalArgumentException("node " + node + " claims WAL of term " + lastLogTerm
                    + " above its promised term " + promisedTerm);
        }
    }
}
