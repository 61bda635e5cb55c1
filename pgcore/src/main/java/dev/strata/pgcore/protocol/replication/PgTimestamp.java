package dev.strata.pgcore.protocol.replication;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * PostgreSQL's {@code TimestampTz} as the replication protocol sends it: microseconds
 * since 2000-01-01 00:00:00 UTC (integer datetimes). Conversions to and from
 * {@link Instant}; sub-microsecond precision is truncated.
 */
public final class PgTimestamp {

    /** 2000-01-01T00:00:00Z, PostgreSQL's epoch. */
    public static final Instant EPOCH = Instant.parse("2000-01-01T00:00:00Z");
    /** Seconds between the Unix epoch and PostgreSQL's. */
    public static final long EPOCH_OFFSET_SECONDS = EPOCH.getEpochSecond();

    private PgTimestamp() {
    }

    public static long fromInstant(Instant instant) {
        return ChronoUnit.MICROS.between(EPOCH, instant);
    }

    public static Instant toInstant(long pgMicros) {
        return EPOCH.plus(pgMicros, ChronoUnit.MICROS);
    }

    /** The current time, for the {@code sendTime}/{@code clock} fields. */
    public static long now() {
        return fromInstant(Instant.now());
    }
}
