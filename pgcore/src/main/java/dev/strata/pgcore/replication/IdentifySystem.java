package dev.strata.pgcore.replication;

import dev.strata.pgcore.lsn.Lsn;

/**
 * The answer to {@code IDENTIFY_SYSTEM} on a replication connection.
 *
 * @param systemId the server's system identifier (unsigned 64-bit, printed in decimal)
 * @param timeline the server's current timeline
 * @param xlogPos  the end of WAL the server can send (its flush position, or a safekeeper's commit LSN)
 */
public record IdentifySystem(long systemId, int timeline, Lsn xlogPos) {

    /** The system identifier as PostgreSQL prints it (unsigned decimal). */
    public String systemIdText() {
        return Long.toUnsignedString(systemId);
    }
}
