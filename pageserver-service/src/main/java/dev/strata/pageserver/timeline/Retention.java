package dev.strata.pageserver.timeline;

import java.time.Duration;

/**
 * How much history a timeline keeps (docs/pageserver.md, "GC and retention"): GC never raises the
 * cutoff above the LSN of {@code now - pitr} (found from the commit timestamps ingest keeps), nor
 * above the last record LSN minus {@code horizonBytes} of WAL, nor above a branch point of a child.
 *
 * @param pitr         the point-in-time-recovery window: branches and restores may go this far back
 * @param horizonBytes WAL bytes below the last record that are always kept (Neon's gc_horizon); the
 *                     byte form a test uses with a zero {@code pitr}
 */
public record Retention(Duration pitr, long horizonBytes) {

    /** The longest window accepted (ten years): a bound on a typo, not a policy. */
    public static final Duration MAX_PITR = Duration.ofDays(3653);
    /** Seven days, and 64 MiB of WAL (Neon's defaults). */
    public static final Retention DEFAULTS = new Retention(Duration.ofDays(7), 64L << 20);

    public Retention {
        if (pitr == null || pitr.isNegative() || pitr.compareTo(MAX_PITR) > 0) {
            throw new IllegalArgumentException("pitr must be between 0 and " + MAX_PITR.toDays() + " days, got " + pitr);
        }
        if (horizonBytes < 0) {
            throw new IllegalArgumentException("gc horizon must be >= 0 bytes, got " + horizonBytes);
        }
    }

    public Retention withPitr(Duration p) {
        return new Retention(p, horizonBytes);
    }

    public Retention withHorizonBytes(long bytes) {
        return new Retention(pitr, bytes);
    }
}
