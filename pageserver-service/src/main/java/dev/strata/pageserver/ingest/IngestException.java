package dev.strata.pageserver.ingest;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.wal.DecodedRecord;

/**
 * Ingest of a timeline must stop: a record the pageserver cannot turn into correct values
 * (no image for a block it modifies and no Java redo, an unsupported feature, ...). Stopping
 * is the point: a GetPage that waits and then fails is better than a silently wrong page.
 * Names the record's LSN, resource manager and record type so that the gap is findable.
 */
public final class IngestException extends RuntimeException {

    private final Lsn lsn;
    private final String rmgr;
    private final String recordType;

    public IngestException(DecodedRecord record, String why) {
        super("cannot ingest WAL record at " + record.startLsn() + " (rmgr " + rmgrName(record) + ", "
                + record.recordTypeName() + "): " + why);
        this.lsn = record.startLsn();
        this.rmgr = rmgrName(record);
        this.recordType = record.recordTypeName();
    }

    /** The record's start LSN. */
    public Lsn lsn() {
        return lsn;
    }

    public String rmgr() {
        return rmgr;
    }

    public String recordType() {
        return recordType;
    }

    static String rmgrName(DecodedRecord record) {
        return dev.strata.pgcore.wal.RmgrId.nameOf(record.rmid());
    }
}
