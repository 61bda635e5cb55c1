package dev.strata.control.storage;

import dev.strata.pgcore.lsn.Lsn;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Objects;

/**
 * Where on a parent timeline a branch (or a restore) starts: its head (the last record the
 * pageserver has), an LSN, or a time that the pageserver resolves to an LSN from the commit
 * timestamps it keeps (docs/control-plane.md#branches-and-restore). In workflow input it is the
 * JSON object {@code {"kind": "head"}}, {@code {"kind": "lsn", "value": "0/16B3748"}} or
 * {@code {"kind": "time", "value": "2026-12-06T04:31:07Z"}} ({@link #toJson}, {@link #fromJson}).
 */
public sealed interface BranchTarget {

    /** The parent's head: everything it has now. */
    record Head() implements BranchTarget {
    }

    /** A given LSN, which must be valid. */
    record AtLsn(Lsn lsn) implements BranchTarget {
        public AtLsn {
            Objects.requireNonNull(lsn, "lsn is null");
            if (!lsn.isValid()) {
                throw new IllegalArgumentException("a branch point LSN must be valid, got " + lsn);
            }
        }
    }

    /** The state as of a time: the transactions committed at or before it (millisecond precision). */
    record AtTime(Instant time) implements BranchTarget {
        public AtTime {
            time = Objects.requireNonNull(time, "time is null").truncatedTo(ChronoUnit.MILLIS);
        }
    }

    /** The workflow-input form. */
    default Map<String, Object> toJson() {
        return switch (this) {
            case Head h -> Map.of("kind", "head");
            case AtLsn l -> Map.of("kind", "lsn", "value", l.lsn().toString());
            case AtTime t -> Map.of("kind", "time", "value", t.time().toString());
        };
    }

    /**
     * Reads the workflow-input form; anything else is an {@link IllegalArgumentException} saying what
     * is expected.
     */
    static BranchTarget fromJson(Object json) {
        if (!(json instanceof Map<?, ?> m) || !(m.get("kind") instanceof String kind)) {
            throw new IllegalArgumentException("a branch target is {\"kind\": \"head\" | \"lsn\" | \"time\", \"value\": ...}, got "
                    + json);
        }
        Object value = m.get("value");
        return switch (kind) {
            case "head" -> new Head();
            case "lsn" -> new AtLsn(Lsn.parse(text(value, kind)));
            case "time" -> {
                try {
                    yield new AtTime(Instant.parse(text(value, kind)));
                } catch (java.time.format.DateTimeParseException e) {
                    throw new IllegalArgumentException("a branch target time is ISO-8601 UTC (2026-12-06T04:31:07Z), got '"
                            + value + "'", e);
                }
            }
            default -> throw new IllegalArgumentException("a branch target kind is head, lsn or time, got '" + kind + "'");
        };
    }

    private static String text(Object value, String kind) {
        if (!(value instanceof String s)) {
            throw new IllegalArgumentException("a branch target of kind " + kind + " needs a string value, got " + value);
        }
        return s;
    }
}
