package dev.strata.proxy.wake;

import java.time.Duration;
import java.util.Objects;

/**
 * How long a client waits for a wake and how wakes are retried: attempt n (from 0) is
 * followed by a pause of {@code baseDelay * factor^n}, capped at {@code maxDelay} (Neon's
 * proxy: 100 ms x 1.6^n), until {@code timeout} has passed since the first attempt.
 */
public record WakePolicy(Duration timeout, Duration baseDelay, double factor, Duration maxDelay) {

    public static final WakePolicy DEFAULT =
            new WakePolicy(Duration.ofSeconds(30), Duration.ofMillis(100), 1.6, Duration.ofSeconds(5));

    public WakePolicy {
        Objects.requireNonNull(timeout, "timeout is null");
        Objects.requireNonNull(baseDelay, "baseDelay is null");
        Objects.requireNonNull(maxDelay, "maxDelay is null");
        if (!timeout.isPositive() || baseDelay.isNegative() || maxDelay.isNegative() || !(factor >= 1.0)) {
            throw new IllegalArgumentException("invalid wake policy: timeout " + timeout + ", base delay " + baseDelay
                    + ", factor " + factor + ", max delay " + maxDelay);
        }
    }

    public WakePolicy withTimeout(Duration t) {
        return new WakePolicy(t, baseDelay, factor, maxDelay);
    }

    /** The pause after attempt {@code n} (0-based) failed. */
    public Duration delayAfter(int attempt) {
        double ms = baseDelay.toMillis() * Math.pow(factor, attempt);
        return Duration.ofMillis((long) Math.min(ms, maxDelay.toMillis()));
    }
}
