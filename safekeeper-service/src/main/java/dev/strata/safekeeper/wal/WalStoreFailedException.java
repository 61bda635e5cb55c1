package dev.strata.safekeeper.wal;

/**
 * A timeline's WAL store stopped for good because forcing its files failed (decision 0010):
 * what was written since the last good force may be gone from the page cache, so nothing is
 * forced again or acknowledged. The flush LSN stays where the last good force left it; the
 * safekeeper must be restarted, and the restart trusts only the WAL it reads back.
 */
public final class WalStoreFailedException extends IllegalStateException {

    public WalStoreFailedException(String message, Throwable cause) {
        super(message, cause);
    }
}
