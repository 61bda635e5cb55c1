package dev.strata.compute.commitpath;

import java.time.Duration;

/**
 * From the quorum's flush lag to a duty cycle for the writing backends (decision 0008). A pure
 * function, so its shape is unit-tested apart from signals and PostgreSQL.
 *
 * <p>At or under the bound nothing is throttled. Over it the writers are stopped for a share of
 * each period that grows linearly from {@value #MIN_STOP} just over the bound to
 * {@value #MAX_STOP} at twice the bound, and stays there. With writers running at most
 * {@code 1 - MAX_STOP} of the time, the lag stops growing as long as the safekeepers take WAL at
 * more than that share of the unthrottled write rate, so it settles between one and two times the
 * bound; never stopping fully is what rules out a deadlock (see {@link DutyCycle}).
 */
public final class ThrottlePolicy {

    static final double MIN_STOP = 0.2;
    static final double MAX_STOP = 0.95;

    private final long bound;
    private final Duration period;

    public ThrottlePolicy(long maxReplicationFlushLag, Duration period) {
        if (maxReplicationFlushLag <= 0) {
            throw new IllegalArgumentException("the lag bound must be positive; got " + maxReplicationFlushLag);
        }
        this.bound = maxReplicationFlushLag;
        this.period = period;
    }

    public DutyCycle decide(long flushLagBytes) {
        if (flushLagBytes <= bound) {
            return DutyCycle.unthrottled(period);
        }
        double over = Math.min(1.0, (double) (flushLagBytes - bound) / bound);
        double stopShare = MIN_STOP + (MAX_STOP - MIN_STOP) * over;
        long stopNanos = Math.round(period.toNanos() * stopShare);
        return new DutyCycle(Duration.ofNanos(stopNanos), period.minusNanos(stopNanos));
    }

    public long bound() {
        return bound;
    }
}
