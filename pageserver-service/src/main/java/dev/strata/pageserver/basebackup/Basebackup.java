package dev.strata.pageserver.basebackup;

import dev.strata.pageserver.layer.Redo;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pgcore.lsn.Lsn;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Streams a tar of a complete PostgreSQL 17 data directory at an LSN (architecture §5).
 *
 * <p>Placeholder with the agreed signature; the implementation is being written.
 */
public final class Basebackup {

    private Basebackup() {
    }

    /**
     * @param lsn            the LSN E the compute starts at (a record end, at or below last record LSN)
     * @param prevRecordLsn  the start LSN of the record that ends at E (the synthetic checkpoint's xl_prev)
     */
    public static void write(LayerStore store, Redo redo, Lsn lsn, Lsn prevRecordLsn, OutputStream out)
            throws IOException {
        throw new UnsupportedOperationException("basebackup is not implemented yet");
    }
}
