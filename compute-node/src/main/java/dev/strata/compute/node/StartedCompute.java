package dev.strata.compute.node;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import java.time.Duration;
import java.util.List;

/**
 * A compute that started: its term, where its WAL begins, its address and what each step cost.
 *
 * @param streaming the safekeepers that accepted to stream from it (at least a majority)
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
        Duration postgresStart) {

    public Duration total() {
        return election.plus(pageserverWait).plus(basebackup).plus(postgresStart);
    }
}
