package dev.strata.pageserver.layer;

import dev.strata.pageserver.key.Key;
import java.util.List;

/**
 * Turns a base value plus the records above it into the value at the requested LSN. The
 * layer store hands it what the layer map found; the real implementation (WAL redo) comes
 * with ingest. Implementations must not keep or modify {@code base}.
 */
@FunctionalInterface
public interface Redo {

    /**
     * @param key     the key being reconstructed (for errors and for key-specific operations)
     * @param base    the newest image at or below the first record, or null if the first record will init
     * @param records the records to apply, oldest first (LSN order); never empty
     * @return the reconstructed value
     */
    byte[] apply(Key key, byte[] base, List<Value.Record> records);
}
