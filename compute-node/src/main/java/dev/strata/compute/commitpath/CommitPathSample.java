package dev.strata.compute.commitpath;

import dev.strata.pgcore.lsn.Lsn;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * One look at the commit path: the compute's WAL insert position, each safekeeper's position,
 * the backends that write (candidates for throttling) and whether commits wait on the safekeepers.
 *
 * @param writers         pids of client backends and autovacuum workers (never the agent's own
 *                        connections, walsenders or auxiliary processes)
 * @param commitsWaiting  backends waiting in {@code SyncRep} now
 * @param postmasterPid   the postmaster, parent of every backend (a pid that is not its child is
 *                        never signalled)
 */
public record CommitPathSample(Lsn insertLsn, List<SafekeeperPosition> safekeepers, List<Long> writers,
                               int commitsWaiting, long postmasterPid) {

    public CommitPathSample {
        safekeepers = List.copyOf(safekeepers);
        writers = List.copyOf(writers);
    }

    /** The {@code quorum}-th best flush position: what a majority holds, so what commits can reach. */
    public Lsn quorumFlush(int quorum) {
        return kthBest(safekeepers.stream().map(SafekeeperPosition::flushed).toList(), quorum);
    }

    public Lsn quorumWrite(int quorum) {
        return kthBest(safekeepers.stream().map(SafekeeperPosition::written).toList(), quorum);
    }

    /** Bytes of WAL the compute has that a quorum has not flushed (0 if the quorum is ahead of the sample). */
    public long flushLag(int quorum) {
        Lsn q = quorumFlush(quorum);
        return insertLsn.isAfter(q) ? insertLsn.minus(q) : 0;
    }

    public long writeLag(int quorum) {
        Lsn q = quorumWrite(quorum);
        return insertLsn.isAfter(q) ? insertLsn.minus(q) : 0;
    }

    /** The k-th largest of {@code positions} (k from 1), or 0/0 when fewer than k are known. */
    static Lsn kthBest(List<Lsn> positions, int k) {
        if (k < 1) {
            throw new IllegalArgumentException("a quorum is at least 1; got " + k);
        }
        List<Lsn> sorted = new ArrayList<>(positions);
        sorted.sort(Comparator.reverseOrder());
        return sorted.size() >= k ? sorted.get(k - 1) : Lsn.INVALID;
    }
}
