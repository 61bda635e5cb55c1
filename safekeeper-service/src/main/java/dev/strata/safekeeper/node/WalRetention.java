package dev.strata.safekeeper.node;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.safekeeper.election.PeerPosition;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * How far a safekeeper may remove a timeline's WAL (architecture §3: once nothing can need it).
 * The horizon is the lowest of:
 * <ul>
 *   <li>the pageserver's remote-consistent LSN: below it everything is in layer files, and
 *       after a crash the pageserver resumes ingest there (until it has reported one, nothing
 *       is removed);</li>
 *   <li>the commit LSN: an election never truncates below it, so a voter never needs WAL
 *       below it from a donor;</li>
 *   <li>every peer's flush LSN as last heard: a lagging peer can still recover from this one
 *       (a peer never heard from holds everything back).</li>
 * </ul>
 * A read replica streaming from a safekeeper is not waited for: one that falls behind the
 * horizon gets PostgreSQL's "requested WAL segment has already been removed" and needs a new
 * base backup, as with a stock primary without a replication slot.
 *
 * <p>With WAL offload (remote storage configured), also the offloaded LSN: a segment leaves
 * this disk only once it is in object storage, whoever uploaded it (docs/safekeeper.md, "WAL
 * offload"). Without remote storage ({@code offloaded} INVALID) it is not an input.
 */
final class WalRetention {

    private WalRetention() {
    }

    /** The horizon, or empty while any input is unknown. */
    static Optional<Lsn> horizon(Lsn commit, Lsn remoteConsistent, Lsn offloaded, Map<NodeId, PeerPosition> known,
                                 Set<NodeId> peers) {
        if (!remoteConsistent.isValid() || !commit.isValid()) {
            return Optional.empty();
        }
        Lsn h = Lsn.min(commit, remoteConsistent);
        if (offloaded.isValid()) {
            h = Lsn.min(h, offloaded);
        }
        for (NodeId peer : peers) {
            PeerPosition p = known.get(peer);
            if (p == null) {
                return Optional.empty();
            }
            h = Lsn.min(h, p.flushLsn());
        }
        return Optional.of(h);
    }
}
