package dev.strata.safekeeper.election;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Derives a timeline's commit LSN from the positions of the quorum members (Raft's rule, as in
 * Neon): only members whose WAL is of the current term count, and the commit LSN is the
 * highest flush LSN that a majority of them has reached. WAL of an older term is never
 * committed by counting replicas; it becomes committed when the current term's election made
 * a majority hold it up to the epoch start.
 *
 * <p>A peer reporting a position it does not have can only raise its own entry; it cannot
 * make WAL committed on its own, since a majority is always needed.
 */
public final class CommitTracker {

    private final Map<NodeId, PeerPosition> positions = new ConcurrentHashMap<>();

    public void update(PeerPosition p) {
        positions.merge(p.node(), p, (old, neu) -> neu.promisedTerm().compareTo(old.promisedTerm()) >= 0 ? neu : old);
    }

    public Map<NodeId, PeerPosition> positions() {
        return Map.copyOf(positions);
    }

    /** The commit LSN for {@code term}, if {@code quorum} members have WAL of that term. */
    public Optional<Lsn> commitLsn(Term term, int quorum) {
        if (quorum < 1) {
            throw new IllegalArgumentException("quorum must be at least 1, got " + quorum);
        }
        List<Lsn> flushes = new ArrayList<>();
        for (PeerPosition p : positions.values()) {
            if (p.lastLogTerm().equals(term) && p.promisedTerm().equals(term)) {
                flushes.add(p.flushLsn());
            }
        }
        if (flushes.size() < quorum) {
            return Optional.empty();
        }
        flushes.sort(java.util.Comparator.reverseOrder());
        return Optional.of(flushes.get(quorum - 1));
    }
}
