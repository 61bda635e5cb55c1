package dev.strata.pgcore.metrics;

import java.time.Duration;

/**
 * The two command-line options every service that reports metrics takes, checked the same way:
 * {@code --metrics-environment NAME} (metrics on, under {@code Environment=NAME}) and
 * {@code --metrics-interval S} (seconds between reports, 1 to 86400, default 60; only with an
 * environment).
 */
public final class MetricsOptions {

    /** Seconds between reports when {@code --metrics-interval} is not given. */
    public static final long DEFAULT_INTERVAL_SECONDS = 60;
    /** The longest interval accepted: a day. */
    public static final long MAX_INTERVAL_SECONDS = 86_400;

    private MetricsOptions() {
    }

    /**
     * How often to report, or null when {@code environment} is null (metrics off).
     *
     * @throws IllegalArgumentException naming the option and the value received
     */
    public static Duration interval(String environment, String interval) {
        if (environment == null) {
            if (interval != null) {
                throw new IllegalArgumentException("--metrics-interval needs --metrics-environment");
            }
            return null;
        }
        if (environment.isBlank() || environment.length() > 1024) {
            throw new IllegalArgumentException("--metrics-environment must be a name of 1 to 1024 characters, got '"
                    + environment + "'");
        }
        long seconds;
        try {
            seconds = interval == null ? DEFAULT_INTERVAL_SECONDS : Long.parseLong(interval.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--metrics-interval must be a number of seconds, got '" + interval + "'");
        }
        if (seconds < 1 || seconds > MAX_INTERVAL_SECONDS) {
            throw new IllegalArgumentException("--metrics-interval must be 1 to " + MAX_INTERVAL_SECONDS
                    + " seconds, got " + seconds);
        }
        return Duration.ofSeconds(seconds);
    }
}
