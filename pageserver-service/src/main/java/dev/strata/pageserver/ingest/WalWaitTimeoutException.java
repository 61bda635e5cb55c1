package dev.strata.pageserver.ingest;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;

import java.time.Duration;

/** A reader waited for WAL up to an LSN and ingest did not get there in time. */
public final class WalWaitTimeoutException extends RuntimeException {

    private final Lsn requested;
    private final Lsn lastRecordLsn;

    public WalWaitTimeoutException(TimelineId timeline, Lsn requested, Lsn lastRecordLsn, Duration waited, String state) {
        super("timeline " + timeline + ": WAL up to " + requested + " not ingested after " + waited.toMillis()
                + " ms; last record LSN " + lastRecordLsn + " (receiver: " + state + ")");
        this.requested = requested;
        this.lastRecordLsn = lastRecordLsn;
    }

    public Lsn requested() {
        return requested;
    }

    public Lsn lastRecordLsn() {
        return lastRecordLsn;
    }
}
