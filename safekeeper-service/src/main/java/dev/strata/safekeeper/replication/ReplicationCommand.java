package dev.strata.safekeeper.replication;

import dev.strata.pgcore.lsn.Lsn;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The replication-protocol commands a safekeeper's walsender understands, parsed from a
 * simple Query. Anything else is {@link Unsupported}, answered with an error.
 */
public sealed interface ReplicationCommand {

    record IdentifySystem() implements ReplicationCommand {
    }

    record Show(String name) implements ReplicationCommand {
    }

    record StartReplication(Lsn start, int timeline) implements ReplicationCommand {
    }

    record Unsupported(String text) implements ReplicationCommand {
    }

    Pattern START = Pattern.compile(
            "START_REPLICATION(?:\\s+SLOT\\s+\\S+)?(?:\\s+PHYSICAL)?\\s+([0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8})(?:\\s+TIMELINE\\s+(\\d{1,10}))?",
            Pattern.CASE_INSENSITIVE);
    Pattern SHOW = Pattern.compile("SHOW\\s+([A-Za-z_][A-Za-z0-9_]*)", Pattern.CASE_INSENSITIVE);

    static ReplicationCommand parse(String sql) {
        String text = sql.strip();
        if (text.endsWith(";")) {
            text = text.substring(0, text.length() - 1).strip();
        }
        if (text.equalsIgnoreCase("IDENTIFY_SYSTEM")) {
            return new IdentifySystem();
        }
        Matcher show = SHOW.matcher(text);
        if (show.matches()) {
            return new Show(show.group(1).toLowerCase(Locale.ROOT));
        }
        Matcher start = START.matcher(text);
        if (start.matches()) {
            long timeline = start.group(2) == null ? 1 : Long.parseLong(start.group(2));
            if (timeline > Integer.MAX_VALUE) {
                return new Unsupported(text);
            }
            return new StartReplication(Lsn.parse(start.group(1)), (int) timeline);
        }
        return new Unsupported(text);
    }
}
