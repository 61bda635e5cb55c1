package dev.strata.safekeeper.election;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import java.util.Objects;

/** What safekeepers tell each other about one timeline, to learn the commit LSN. */
public record PeerPosition(NodeId node, Term promisedTerm, Term lastLogTerm, Lsn flushLsn, Lsn commitLsn) {
    public PeerPosition {
        Objects.requireNonNull(node, "node is null");
        Objects.requireNonNull(promisedTerm, "promisedTerm is null");
        Objects.requireNonNull(lastLogTerm, "lastLogTerm is null");
        Objects.requireNonNull(flushLsn, "flushLsn is null");
        Objects.requireNonNull(commitLsn, "commitLsn is null");
        if (lastLogTerm.isAfter(promisedTerm)) {
            throw new IllegalArgumentException("node " + node + " claims WAL of term " + lastLogTerm
                    + " above its promised term " + promisedTerm);
        }
    }
}
