package dev.strata.pageserver.pageservice;

import dev.strata.pageserver.basebackup.BasebackupBase;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;

/**
 * A decoded page-service request. {@code lsn} INVALID means "the last record LSN";
 * {@code waitMillis} is already defaulted and bounded by the decoder.
 */
public sealed interface PageRequest extends ClientFrame {

    TimelineId timeline();

    Lsn lsn();

    int waitMillis();

    /** One block of a relation fork at an LSN. */
    record GetPage(int requestId, TimelineId timeline, Lsn lsn, int waitMillis, int spcOid, int dbOid, int relNumber,
                   int fork, int blockNo) implements PageRequest {
    }

    /** Whether a relation fork exists at an LSN, and its size in blocks. */
    record RelSize(int requestId, TimelineId timeline, Lsn lsn, int waitMillis, int spcOid, int dbOid, int relNumber,
                   int fork) implements PageRequest {
    }

    record ListDatabases(int requestId, TimelineId timeline, Lsn lsn, int waitMillis) implements PageRequest {
    }

    record ListRelations(int requestId, TimelineId timeline, Lsn lsn, int waitMillis, int spcOid, int dbOid)
            implements PageRequest {
    }

    /**
     * A tar of the data directory at the LSN, streamed as chunks. With a {@code base} (the
     * directory the compute holds; null: none) the pageserver may answer with an incremental
     * archive ({@code basebackup.IncrementalFormat}), else it sends a full one.
     */
    record Basebackup(int requestId, TimelineId timeline, Lsn lsn, int waitMillis, BasebackupBase base)
            implements PageRequest {

        /** A full basebackup. */
        public Basebackup(int requestId, TimelineId timeline, Lsn lsn, int waitMillis) {
            this(requestId, timeline, lsn, waitMillis, null);
        }
    }

    /** Answers once WAL up to the LSN is ingested (with the last record LSN then). */
    record WaitLsn(int requestId, TimelineId timeline, Lsn lsn, int waitMillis) implements PageRequest {
    }
}
