package dev.strata.compute.commitpath;

import dev.strata.pgcore.lsn.Lsn;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * What the compute agent last saw of the commit path, for {@code strata status}.
 *
 * @param flushLag        bytes between the compute's insert position and the quorum's flush position
 * @param writeLag        the same for the quorum's write position
 * @param bound           {@code strata.max_replication_flush_lag}
 * @param throttling      whether writers were being duty-cycled at the last sample
 * @param stopFraction    share of each cycle they were stopped (0 when not throttling)
 * @param throttledTotal  time writers spent stopped since this compute started
 * @param commitsWaiting  backends waiting on the safekeepers (SyncRep) at the last sample
 * @param waitingFor      how long commits have been waiting without a break
 * @param wedged          why the compute was declared wedged, or null
 * @param error           why the last sample failed, or null
 * @param peakFlushLag    the largest flush lag sampled since this compute started
 */
public record CommitPathStatus(Instant sampledAt, Lsn insertLsn, Lsn quorumFlush, long flushLag, long writeLag,
                               long bound, boolean throttling, double stopFraction, Duration throttledTotal,
                               int commitsWaiting, Duration waitingFor, List<SafekeeperPosition> safekeepers,
                               long slotsRecreated, String wedged, String error, long peakFlushLag) {

    public static CommitPathStatus notStarted(long bound) {
        return new CommitPathStatus(null, Lsn.INVALID, Lsn.INVALID, 0, 0, bound, false, 0, Duration.ZERO, 0,
                Duration.ZERO, List.of(), 0, null, null, 0);
    }

    /** One line for {@code strata status}. */
    public String line() {
        StringBuilder b = new StringBuilder();
        b.append(String.format("insert %s, quorum flush %s, lag %.1f MB (write %.1f MB, bound %d MB), throttling %s",
                insertLsn, quorumFlush, flushLag / 1048576.0, writeLag / 1048576.0, bound >> 20,
                throttling ? String.format("yes (stopped %.0f%%)", stopFraction * 100) : "no"));
        b.append(String.format(", throttled %.1f s in all, peak lag %.1f MB", throttledTotal.toMillis() / 1000.0,
                peakFlushLag / 1048576.0));
        if (commitsWaiting > 0) {
            b.append(String.format(", %d commit(s) waiting on the safekeepers for %.1f s", commitsWaiting,
                    waitingFor.toMillis() / 1000.0));
        }
        if (slotsRecreated > 0) {
            b.append(", ").append(slotsRecreated).append(" invalidated slot(s) re-created");
        }
        if (wedged != null) {
            b.append(", WEDGED: ").append(wedged);
        }
        if (error != null) {
            b.append(", sampling failed: ").append(error);
        }
        return b.toString();
    }
}
