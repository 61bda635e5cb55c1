package dev.strata.compute.pageserver;

import dev.strata.pageserver.basebackup.BasebackupBase;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.io.InputStream;
import java.time.Duration;

/**
 * What a compute needs from its pageserver: to wait until a timeline's WAL is ingested up to
 * the epoch start, and a basebackup at that LSN. The local cluster and the AWS start
 * function implement it over the pageserver's page service.
 */
public interface PageserverAccess {

    /**
     * Returns once the pageserver has ingested {@code timeline} up to {@code lsn}.
     *
     * @throws dev.strata.compute.node.ComputeStartException if it does not within {@code timeout}, naming both LSNs
     */
    void awaitLsn(TimelineId timeline, Lsn lsn, Duration timeout);

    /** A tar of the complete data directory at {@code lsn}; the caller closes it. */
    default InputStream basebackup(TimelineId timeline, Lsn lsn) {
        return basebackup(timeline, lsn, null);
    }

    /**
     * As above, over a directory the compute holds already: with a {@code base}, the pageserver
     * may answer with an incremental basebackup against it ({@code IncrementalFormat}), or with a
     * full one when it cannot tell what differs. Null: always full.
     */
    InputStream basebackup(TimelineId timeline, Lsn lsn, BasebackupBase base);
}
