package dev.strata.pageserver.pageservice;

import dev.strata.pageserver.datadir.DbDirectory;
import dev.strata.pageserver.datadir.RelDirectory;
import dev.strata.pgcore.lsn.Lsn;
import java.util.List;

/** A page-service response; each names the request it answers. */
public sealed interface PageResponse {

    int requestId();

    /** The page at {@code lsn} (the LSN the request resolved to). */
    record Page(int requestId, Lsn lsn, byte[] page) implements PageResponse {
    }

    /** {@code blocks} is -1 when the fork does not exist at {@code lsn}. */
    record RelSize(int requestId, Lsn lsn, long blocks) implements PageResponse {
    }

    record Databases(int requestId, Lsn lsn, List<DbDirectory.Db> databases) implements PageResponse {
    }

    record Relations(int requestId, Lsn lsn, List<RelDirectory.RelFork> relations) implements PageResponse {
    }

    record BasebackupChunk(int requestId, byte[] bytes) implements PageResponse {
    }

    /** The basebackup is complete: it is the state at {@code lsn}, whose record started at {@code prev}. */
    record BasebackupEnd(int requestId, Lsn lsn, Lsn prev) implements PageResponse {
    }

    record LsnReached(int requestId, Lsn lastRecordLsn) implements PageResponse {
    }

    /** The connection's AUTHENTICATE was accepted: requests may follow. */
    record Authenticated(int requestId) implements PageResponse {
    }

    /** The request failed; the connection stays usable. {@code code} is a {@code TimelineException.Kind} code. */
    record Error(int requestId, int code, String message) implements PageResponse {
    }
}
