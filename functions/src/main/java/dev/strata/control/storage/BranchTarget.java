package dev.strata.control.storage;

import dev.strata.pgcore.lsn.Lsn;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.Objects;

/**
 * Where on a parent timeline a branch (or a restore) starts: its head (the last record the
 * pageserver has), an LSN, or a time that the pageserver resolves to an LSN from the commit
 * timestamps it keeps (docs/control-plane.md#branches-and-restore). In workflow input it is the
 * JSON object {@code {"kind": "head"}}, {@code {"kind": "lsn", "value": "0/16B3748"}} or
 * {@code {"kind": "time", "value": "2026-12-06T04:31:07Z"}} ({@link #toJson}, {@link #fromJson}); on
 * the command line {@code head}, an LSN or a time ({@link #parse}, whose output {@link #toString}
 * reads back).
 *
 * <p>How a storage control resolves a time (one rule for {@code strata branch|restore} and the
 * workflows): before the timeline's first commit is refused; between two commits is the state
 * after the earlier one; after the last commit but not after now is the state after the last
 * commit (the committed head: nothing happened since); after now is refused.
 */
public sealed interface BranchTarget {

    /** The parent's head: everything it has now. */
    record Head() implements BranchTarget {
        @Override
        public String toString() {
            return "head";
        }
    }

    /** A given LSN, which must be valid. */
    record AtLsn(Lsn lsn) implements BranchTarget {
        public AtLsn {
            Objects.requireNonNull(lsn, "lsn is null");
            if (!lsn.isValid()) {
                throw new IllegalArgumentException("a branch point LSN must be valid, got " + lsn);
            }
        }

        @Override
        public String toString() {
            return lsn.toString();
        }
    }

    /** The state as of a time: the transactions committed at or before it (millisecond precision). */
    record AtTime(Instant time) implements BranchTarget {
        public AtTime {
            time = Objects.requireNonNull(time, "time is null").truncatedTo(ChronoUnit.MILLIS);
        }

        @Override
        public String toString() {
            return time.toString();
        }
    }

    BranchTarget HEAD = new Head();

    /**
     * Parses what a user types after {@code --at} or {@code --to}: {@code head} or {@code now},
     * an LSN ({@code 0/16B3748}), an instant with a zone ({@code 2026-12-06T14:03:27Z},
     * {@code ...+01:00}), a local date and time ({@code 2026-12-06T14:03:27} or with a space, in
     * {@code clock}'s zone), or a time of day ({@code 14:03:27}, today in {@code clock}'s zone).
     */
    static BranchTarget parse(String text, Clock clock) {
        String t = text.strip();
        if (t.isEmpty()) {
            throw new IllegalArgumentException("an empty point: give an LSN such as 0/16B3748 or a time such as "
                    + "2026-12-06T14:03:27Z or 14:03:27");
        }
        if (t.equalsIgnoreCase("head") || t.equalsIgnoreCase("now")) {
            return HEAD;
        }
        if (t.matches("[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}")) {
            Lsn lsn = Lsn.parse(t);
            if (!lsn.isValid()) {
                throw new IllegalArgumentException("'" + text + "' is not a valid LSN (0/0 is none)");
            }
            return new AtLsn(lsn);
        }
        String iso = t.replace(' ', 'T');
        try {
            return new AtTime(OffsetDateTime.parse(iso).toInstant());
        } catch (DateTimeParseException notOffset) {
            // try the forms without a zone
        }
        try {
            return new AtTime(Instant.parse(iso));
        } catch (DateTimeParseException notInstant) {
            // try the forms without a zone
        }
        try {
            return new AtTime(LocalDateTime.parse(iso).atZone(clock.getZone()).toInstant());
        } catch (DateTimeParseException notLocal) {
            // try a time of day
        }
        try {
            LocalTime time = LocalTime.parse(t);
            return new AtTime(LocalDate.now(clock).atTime(time).atZone(clock.getZone()).toInstant());
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("'" + text + "' is neither an LSN (such as 0/16B3748) nor a time (such "
                    + "as 2026-12-06T14:03:27Z, 2026-12-06 14:03:27 or 14:03:27)");
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
