package dev.strata.compute.commitpath;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The compute agent's own commit-path settings (docs/commit-path.md). They travel in the
 * compute's settings map next to PostgreSQL's, under the {@code strata.} prefix, so an operator
 * sets them the same way; PostgreSQL keeps them as custom placeholders ({@code SHOW} shows them).
 *
 * @param maxReplicationFlushLag bytes of WAL the quorum's flush position may lag the compute's
 *                               insert position before writing backends are duty-cycled
 *                               ({@code strata.max_replication_flush_lag}, like Neon's setting)
 * @param throttlePeriod         one sample-and-throttle cycle ({@code strata.throttle_period})
 * @param wedgeTimeout           how long commits may wait on the safekeepers while the quorum's flush
 *                               position stands still before the compute is replaced
 *                               ({@code strata.commit_wedge_timeout})
 */
public record CommitPathSettings(long maxReplicationFlushLag, Duration throttlePeriod, Duration wedgeTimeout) {

    public static final String MAX_REPLICATION_FLUSH_LAG = "strata.max_replication_flush_lag";
    public static final String THROTTLE_PERIOD = "strata.throttle_period";
    public static final String COMMIT_WEDGE_TIMEOUT = "strata.commit_wedge_timeout";

    /** 256 MB of lag, a 100 ms cycle, 60 s of standstill. */
    public static final CommitPathSettings DEFAULTS = new CommitPathSettings(256L << 20, Duration.ofMillis(100),
            Duration.ofSeconds(60));

    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(B|kB|MB|GB|TB)?");
    private static final Pattern TIME = Pattern.compile("(\\d+)\\s*(ms|s|min)?");

    public CommitPathSettings {
        if (maxReplicationFlushLag < (1L << 20)) {
            throw new IllegalArgumentException(MAX_REPLICATION_FLUSH_LAG + " must be at least 1MB; got "
                    + maxReplicationFlushLag + " bytes");
        }
        if (throttlePeriod.toMillis() < 20 || throttlePeriod.toMillis() > 1000) {
            throw new IllegalArgumentException(THROTTLE_PERIOD + " must be 20ms..1000ms; got " + throttlePeriod.toMillis()
                    + "ms");
        }
        if (wedgeTimeout.toMillis() < 1000) {
            throw new IllegalArgumentException(COMMIT_WEDGE_TIMEOUT + " must be at least 1s; got "
                    + wedgeTimeout.toMillis() + "ms");
        }
    }

    /** The defaults, overridden by whichever {@code strata.*} keys {@code settings} has. */
    public static CommitPathSettings from(Map<String, String> settings) {
        long lag = settings.containsKey(MAX_REPLICATION_FLUSH_LAG)
                ? parseSize(MAX_REPLICATION_FLUSH_LAG, settings.get(MAX_REPLICATION_FLUSH_LAG))
                : DEFAULTS.maxReplicationFlushLag;
        Duration period = settings.containsKey(THROTTLE_PERIOD)
                ? parseDuration(THROTTLE_PERIOD, settings.get(THROTTLE_PERIOD)) : DEFAULTS.throttlePeriod;
        Duration wedge = settings.containsKey(COMMIT_WEDGE_TIMEOUT)
                ? parseDuration(COMMIT_WEDGE_TIMEOUT, settings.get(COMMIT_WEDGE_TIMEOUT)) : DEFAULTS.wedgeTimeout;
        return new CommitPathSettings(lag, period, wedge);
    }

    /**
     * Refuses a {@code max_slot_wal_keep_size} (PostgreSQL's unit: MB when bare, -1 for no limit)
     * that a throttled quorum could still exceed: the throttle aims to hold the lag under
     * {@code strata.max_replication_flush_lag} once it acts, but it samples every period and
     * a starved machine overshoots (measured: a 16MB bound let the quorum fall 70MB behind on two
     * busy cores; an 8MB bound, 235MB, with the predictive policy of 2026-12-05); a live safekeeper whose slot is given up leaves the quorum, so the slot bound
     * must be at least eight times the lag bound (the defaults, 2GB and 256MB, are exactly that).
     */
    public void requireSlotKeepAbove(String maxSlotWalKeepSize) {
        String v = maxSlotWalKeepSize.trim();
        if (v.equals("-1")) {
            return;
        }
        long keep = v.matches("\\d+") ? Long.parseLong(v) << 20 : parseSize("max_slot_wal_keep_size", v);
        if (keep < 8 * maxReplicationFlushLag) {
            throw new IllegalArgumentException("max_slot_wal_keep_size " + v + " is below 8 x "
                    + MAX_REPLICATION_FLUSH_LAG + " (" + (maxReplicationFlushLag >> 20) + "MB): a safekeeper that the "
                    + "throttle keeps within the lag bound could still lose its slot");
        }
    }

    /** PostgreSQL's memory units: {@code 64MB}, {@code 2GB}, {@code 512kB}; a bare number is bytes. */
    static long parseSize(String name, String value) {
        Matcher m = SIZE.matcher(value.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException(name + ": '" + value + "' is not a size such as 256MB");
        }
        long n = Long.parseLong(m.group(1));
        int shift = switch (m.group(2) == null ? "B" : m.group(2)) {
            case "kB" -> 10;
            case "MB" -> 20;
            case "GB" -> 30;
            case "TB" -> 40;
            default -> 0;
        };
        if (n > (Long.MAX_VALUE >> shift)) {
            throw new IllegalArgumentException(name + ": '" + value + "' is too large");
        }
        return n << shift;
    }

    /** {@code 100ms}, {@code 60s}, {@code 2min}; a bare number is milliseconds, as PostgreSQL's timeouts. */
    static Duration parseDuration(String name, String value) {
        Matcher m = TIME.matcher(value.trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException(name + ": '" + value + "' is not a duration such as 60s");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2) == null ? "ms" : m.group(2)) {
            case "s" -> Duration.ofSeconds(n);
            case "min" -> Duration.ofMinutes(n);
            default -> Duration.ofMillis(n);
        };
    }
}
