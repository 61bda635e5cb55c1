package dev.strata.pageserver.ingest;

import dev.strata.pgcore.wal.DecodedRecord;

/**
 * Database records ({@code commands/dbcommands_xlog.h}). CREATE DATABASE with the WAL_LOG
 * strategy logs every page as images and this record only makes the directory, so it
 * passes; FILE_COPY copies the template's files at this LSN and DROP removes every
 * relation of the database: neither exists here yet, so both stop ingest.
 */
final class DatabaseIngest implements RmgrIngest {

    static final int CREATE_FILE_COPY = 0x00;
    static final int CREATE_WAL_LOG = 0x10;
    static final int DROP = 0x20;

    @Override
    public void ingest(DecodedRecord r, IngestContext ctx) {
        switch (r.info() & 0xF0) {
            case CREATE_WAL_LOG -> ctx.putImagesOrStop(r);
            case CREATE_FILE_COPY -> throw new IngestException(r,
                    "CREATE DATABASE with STRATEGY FILE_COPY is not supported yet (use the default WAL_LOG)");
            case DROP -> throw new IngestException(r, "DROP DATABASE is not ingested yet");
            default -> throw new IngestException(r, "unknown database record type");
        }
    }
}
