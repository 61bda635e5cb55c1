package dev.strata.statemachines;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How {@link LocalStepFunctions#run} runs one execution.
 *
 * @param timeout how long the caller waits; an execution still running then is aborted (TIMED_OUT).
 *        Independent of the definition's own {@code TimeoutSeconds}, which the engine enforces.
 * @param retryInterval if present, every {@code Retry} waits this long instead of its
 *        {@code IntervalSeconds} with backoff (tests: the retry policy is checked structurally, the
 *        wait itself need not cost seconds). Empty: the definition's backoff, as on AWS.
 */
public record RunOptions(Duration timeout, Optional<Duration> retryInterval) {

    /** The default bound: longer than any workflow's own TimeoutSeconds is not needed locally. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);

    public RunOptions {
        Objects.requireNonNull(timeout, "timeout is null");
        Objects.requireNonNull(retryInterval, "retryInterval is null");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
        retryInterval.ifPresent(d -> {
            if (d.isNegative()) {
                throw new IllegalArgumentException("retryInterval must not be negative, got " + d);
            }
        });
    }

    /** The definition's own backoff, the default bound. */
    public static RunOptions defaults() {
        return new RunOptions(DEFAULT_TIMEOUT, Optional.empty());
    }

    public RunOptions withTimeout(Duration t) {
        return new RunOptions(t, retryInterval);
    }

    public RunOptions withRetryInterval(Duration d) {
        return new RunOptions(timeout, Optional.of(d));
    }
}
