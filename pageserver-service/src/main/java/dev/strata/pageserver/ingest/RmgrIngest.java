package dev.strata.pageserver.ingest;

import dev.strata.pgcore.wal.DecodedRecord;

/**
 * How one resource manager's records become puts. Implementations get every record of
 * their manager in WAL order and write through the {@link IngestContext}; a record they
 * cannot turn into correct values must throw {@link IngestException}, never guess.
 */
@FunctionalInterface
public interface RmgrIngest {

    void ingest(DecodedRecord record, IngestContext context);
}
