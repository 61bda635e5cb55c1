package dev.strata.pageserver.initdb;

import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pgcore.lsn.Lsn;
import java.nio.file.Path;

/**
 * Creates a timeline's first state from the output of PostgreSQL 17 {@code initdb}: every
 * file of the data directory becomes keys at the end LSN of initdb's shutdown checkpoint.
 *
 * <p>Placeholder with the agreed signatures; the implementation is being written.
 */
public final class InitdbImport {

    /** What the import needs to know before the timeline's store exists. */
    public record Inspected(long systemId, int walSegmentSize, boolean dataChecksums,
                            Lsn checkpointLsn, Lsn endLsn) {
    }

    private InitdbImport() {
    }

    /** Reads {@code global/pg_control} and initdb's last WAL record. */
    public static Inspected inspect(Path pgdata) {
        throw new UnsupportedOperationException("initdb import is not implemented yet");
    }

    /** Puts every file of {@code pgdata} into {@code store} at {@code what.endLsn()}. */
    public static void importInto(Path pgdata, Inspected what, LayerStore store) {
        throw new UnsupportedOperationException("initdb import is not implemented yet");
    }
}
