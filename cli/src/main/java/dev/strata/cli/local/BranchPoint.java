package dev.strata.cli.local;

import dev.strata.pgcore.lsn.Lsn;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;

/**
 * Where in a timeline's history a branch or a restore starts: its head (the newest WAL the
 * pageserver has), an LSN, or a moment in time (resolved by the pageserver from the commit
 * timestamps it keeps, docs/pageserver.md "Branches").
 */
public sealed interface BranchPoint {

    /** The parent's newest WAL. */
    record Head() implements BranchPoint {
        @Override
        public String toString() {
            return "head";
        }
    }

    record AtLsn(Lsn lsn) implements BranchPoint {
        @Override
        public String toString() {
            return lsn.toString();
        }
    }

    /** Every transaction committed at or before {@code time}, none after. */
    record AtTime(Instant time) implements BranchPoint {
        @Override
        public String toString() {
            return time.toString();
        }
    }

    BranchPoint HEAD = new Head();

    /**
     * Parses what a user types after {@code --at} or {@code --to}: an LSN ({@code 0/16B3748}),
     * an instant with a zone ({@code 2026-12-06T14:03:27Z}, {@code ...+01:00}), a local date
     * and time ({@code 2026-12-06T14:03:27} or with a space, in this machine's zone), or a time
     * of day ({@code 14:03:27}, today in this machine's zone).
     */
    static BranchPoint parse(String text, Clock clock) {
        String t = text.strip();
        if (t.isEmpty()) {
            throw new IllegalArgumentException("an empty point: give an LSN such as 0/16B3748 or a time such as "
                    + "2026-12-06T14:03:27Z or 14:03:27");
        }
        if (t.equalsIgnoreCase("head") || t.equalsIgnoreCase("now")) {
            return HEAD;
        }
        if (t.matches("[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}")) {
            return new AtLsn(Lsn.parse(t));
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
}
