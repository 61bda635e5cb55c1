package dev.strata.pgcore.wal;

import dev.strata.pgcore.lsn.Lsn;

/**
 * WAL that cannot be decoded: bad page header, bad CRC, impossible lengths, truncated records.
 *
 * <p>Always names the LSN where the problem was found (the record's start LSN when the
 * problem is inside a record, the page address for page header problems), so an operator can
 * find the offending bytes with {@code pg_waldump} or {@code pg_walinspect}.
 */
public final class WalDecodeException extends RuntimeException {

    private final Lsn lsn;

    public WalDecodeException(Lsn lsn, String message) {
        super("WAL at " + lsn + ": " + message);
        this.lsn = lsn;
    }

    public WalDecodeException(Lsn lsn, String message, Throwable cause) {
        super("WAL at " + lsn + ": " + message, cause);
        this.lsn = lsn;
    }

    /** Where the problem is: a record start LSN or a page address. */
    public Lsn lsn() {
        return lsn;
    }
}
