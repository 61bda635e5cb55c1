package dev.strata.compute.node;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * A compute that started: its term, where its WAL begins, its address and what each step cost.
 *
 * @param streaming the safekeepers that accepted to stream from it (at least a majority)
 * @param basebackupKind how the data directory was made: reused as it was, patched by an
 *     incremental basebackup over the directory of an earlier start, or a full basebackup
 * @param postgresStart PostgreSQL's start until it accepts connections, with the safekeepers'
 *     replication slots created on it
 * @param streamingAnnounce telling the safekeepers where to stream from, until a majority accepted
 */
public record StartedCompute(
        Term term,
        Lsn epochStart,
        String host,
        int port,
        List<String> streaming,
        Duration election,
        Duration pageserverWait,
        Duration basebackup,
        long basebackupBytes,
        BasebackupKind basebackupKind,
        Duration postgresStart,
        Duration streamingAnnounce) {

    /** How a start got its data directory. */
    public enum BasebackupKind {
        /** The directory of the last clean shutdown, the timeline not having moved since. */
        REUSED,
        /** The directory of an earlier clean shutdown, patched with what differs (a restore). */
        INCREMENTAL,
        FULL
    }

    public Duration total() {
        return election.plus(pageserverWait).plus(basebackup).plus(postgresStart).plus(streamingAnnounce);
    }

    /** The steps' times in milliseconds, for a log line: "term 12, pageserver 0, ...". */
    public String breakdown() {
        return "term " + election.toMillis() + ", pageserver " + pageserverWait.toMillis() + ", basebackup "
                + basebackup.toMillis() + " (" + basebackupKind.name().toLowerCase(Locale.ROOT) + "), postgres "
                + postgresStart.toMillis() + ", streaming " + streamingAnnounce.toMillis();
    }
}
