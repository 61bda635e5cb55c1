package dev.strata.compute.commitpath;

import java.time.Duration;

/**
 * From the quorum's flush lag to a duty cycle for the writing backends (decision 0008). A pure
 * function, so its shape is unit-tested apart from signals and PostgreSQL.
 *
 * <p>It acts on the lag it predicts for when its decision can next be corrected: the sampled lag
 * plus its growth since the previous sample over one period and the cycle's own overhead
 * (sampling and signalling, during which the writers run unchecked). Nothing is throttled while
 * that prediction is at most {@value #START} of the bound; above, the writers are stopped for a
 * share of each cycle that grows linearly to {@value #MAX_STOP} at the bound, and stays there.
 *
 * <p>Why not only over the bound, as first built: the reaction came one sample late and started
 * gently (20% stopped just over the bound), so a fast writer overshot by what it wrote until the
 * next samples: during PostgreSQL's isolation suite the quorum's flush lag peaked at 1406 MB
 * against a 256 MB bound. Now the lag settles under the bound as long as a quorum takes WAL at
 * more than {@code 1 - MAX_STOP} of the unthrottled write rate.
 *
 * <p>Never stopping fully is what rules out a deadlock (see {@link DutyCycle}); a backend is
 * never stopped for more than {@value #MAX_STOP_PERIODS} periods at a time (one second by default).
 * Until 2026-12-07 the stop was capped at one period: with 100 to 200 ms of sampling and
 * signalling on a starved 2-core machine the writer then ran half of each cycle, the live
 * safekeepers fell more than {@code max_slot_wal_keep_size} behind and lost their slots
 * ({@code CommitPathTest}, in CI).
 */
public final class ThrottlePolicy {

    /** Throttling starts when the predicted lag passes this share of the bound. */
    static final double START = 0.5;
    static final double MAX_STOP = 0.95;
    /** The shortest run between two stops, whatever the overhead. */
    static final Duration MIN_RUN = Duration.ofMillis(5);
    /**
     * The longest stop, in periods. A cycle whose sampling and signalling take long (a starved
     * machine: the agent's SQL and the writer compete for the same cores) lets the writers run
     * all that time; the stop grows with it so the share holds, up to this many periods.
     */
    static final int MAX_STOP_PERIODS = 10;

    private final long bound;
    private final Duration period;

    public ThrottlePolicy(long maxReplicationFlushLag, Duration period) {
        if (maxReplicationFlushLag <= 0) {
            throw new IllegalArgumentException("the lag bound must be positive; got " + maxReplicationFlushLag);
        }
        this.bound = maxReplicationFlushLag;
        this.period = period;
    }

    /** For a lag sampled alone (no previous sample, no measured overhead). */
    public DutyCycle decide(long flushLagBytes) {
        return decide(flushLagBytes, 0, Duration.ZERO);
    }

    /**
     * @param flushLagBytes      the quorum's flush lag now
     * @param lagGrowthPerSecond how fast it grew since the previous sample, in bytes per second
     *                           (a shrinking lag is not extrapolated: the lag itself counts)
     * @param overhead           how long the monitor's last cycle spent sampling and signalling
     */
    public DutyCycle decide(long flushLagBytes, double lagGrowthPerSecond, Duration overhead) {
        double horizonSeconds = (period.toNanos() + overhead.toNanos()) / 1e9;
        double predicted = flushLagBytes + Math.max(0, lagGrowthPerSecond) * horizonSeconds;
        double start = START * bound;
        if (predicted <= start) {
            return DutyCycle.unthrottled(period);
        }
        double share = MAX_STOP * Math.min(1.0, (predicted - start) / (bound - start));
        // The writers run during the run phase and during the overhead: size the stop as `share`
        // of the whole cycle, stop + run + overhead, within one period.
        long overheadNanos = overhead.toNanos();
        long runNanos = Math.max(MIN_RUN.toNanos(), Math.round(period.toNanos() * (1 - share)) - overheadNanos);
        long stopNanos = Math.min(MAX_STOP_PERIODS * period.toNanos(),
                Math.round(share / (1 - share) * (runNanos + overheadNanos)));
        return new DutyCycle(Duration.ofNanos(stopNanos), Duration.ofNanos(runNanos));
    }

    /** The lag at which throttling starts when the lag does not grow. */
    public long start() {
        return Math.round(START * bound);
    }

    public long bound() {
        return bound;
    }
}
