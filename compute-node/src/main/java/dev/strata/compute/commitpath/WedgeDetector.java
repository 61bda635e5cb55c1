package dev.strata.compute.commitpath;

import dev.strata.pgcore.lsn.Lsn;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * Decides when the commit path is wedged: some commit has been waiting on the safekeepers
 * ({@code wait_event = 'SyncRep'}) continuously for longer than the timeout, and the quorum's
 * flush position has not moved for as long. A slow quorum (moving, just behind) is not a wedge;
 * an idle compute (nobody waiting) is not either. Pure state over the samples it is given.
 */
public final class WedgeDetector {

    private final Duration timeout;
    private Instant waitingSince;
    private Instant flushMovedAt;
    private Lsn lastFlush;

    public WedgeDetector(Duration timeout) {
        this.timeout = timeout;
    }

    /**
     * @param commitsWaiting whether any backend waits in SyncRep now
     * @param quorumFlush    the quorum's flush position now
     * @return how long the commit path has been wedged, when it is
     */
    public Optional<Duration> observe(Instant now, boolean commitsWaiting, Lsn quorumFlush) {
        if (lastFlush == null || !quorumFlush.equals(lastFlush)) {
            lastFlush = quorumFlush;
            flushMovedAt = now;
        }
        if (!commitsWaiting) {
            waitingSince = null;
            return Optional.empty();
        }
        if (waitingSince == null) {
            waitingSince = now;
        }
        Duration waited = Duration.between(waitingSince, now);
        Duration still = Duration.between(flushMovedAt, now);
        Duration stuck = waited.compareTo(still) < 0 ? waited : still;
        return stuck.compareTo(timeout) >= 0 ? Optional.of(stuck) : Optional.empty();
    }

    /** How long commits have been waiting without a break, or zero. */
    public Duration waiting(Instant now) {
        return waitingSince == null ? Duration.ZERO : Duration.between(waitingSince, now);
    }
}
