package dev.strata.compute.commitpath;

import java.time.Duration;

/**
 * One throttle cycle: writing backends are stopped for {@code stop}, then run for {@code run}.
 * Never an indefinite stop: {@code run} is always positive, so a backend stopped while holding
 * an LWLock (WAL insertion, buffer mapping) runs again within one cycle and releases it.
 */
public record DutyCycle(Duration stop, Duration run) {

    public DutyCycle {
        if (stop.isNegative() || !run.isPositive()) {
            throw new IllegalArgumentException("a duty cycle stops for >= 0 and runs for > 0; got stop " + stop
                    + ", run " + run);
        }
    }

    public static DutyCycle unthrottled(Duration period) {
        return new DutyCycle(Duration.ZERO, period);
    }

    public boolean throttling() {
        return stop.isPositive();
    }

    /** The share of the time the writers are stopped, 0..1. */
    public double stopFraction() {
        return (double) stop.toNanos() / (stop.toNanos() + run.toNanos());
    }
}
