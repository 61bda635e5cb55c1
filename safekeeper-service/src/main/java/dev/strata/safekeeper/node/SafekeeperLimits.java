package dev.strata.safekeeper.node;

/**
 * Bounds on what clients can make a safekeeper hold (docs/safekeeper.md, "Limits"). Apart from
 * {@link SafekeeperConfig} so that a deployment that never sets them is unchanged; every default
 * suits the local cluster and a small AWS node.
 *
 * @param walsenderMaxConnections connections the walsender port holds at once (streaming pageservers,
 *                                standbys, pg_receivewal, logins in progress); one more gets
 *                                ErrorResponse 53300 and is closed
 * @param walReadConcurrency      {@code GET /wal} requests (peer recovery) served at once; one more gets
 *                                503 at once. Each holds at most {@link #walReadMaxBytes} of WAL in memory
 * @param walReadMaxBytes         the most WAL one {@code GET /wal} answer holds; the caller asks again for more
 */
public record SafekeeperLimits(int walsenderMaxConnections, int walReadConcurrency, int walReadMaxBytes) {

    public static final int DEFAULT_WALSENDER_MAX_CONNECTIONS = 100;
    public static final int DEFAULT_WAL_READ_CONCURRENCY = 4;
    public static final int DEFAULT_WAL_READ_MAX_BYTES = 4 << 20;

    public SafekeeperLimits {
        if (walsenderMaxConnections < 1 || walReadConcurrency < 1) {
            throw new IllegalArgumentException("walsenderMaxConnections and walReadConcurrency must be at least 1: "
                    + walsenderMaxConnections + ", " + walReadConcurrency);
        }
        if (walReadMaxBytes < 8192 || walReadMaxBytes > 16 << 20) {
            throw new IllegalArgumentException("walReadMaxBytes " + walReadMaxBytes + " is outside [8 KiB, 16 MiB]");
        }
    }

    public static SafekeeperLimits defaults() {
        return new SafekeeperLimits(DEFAULT_WALSENDER_MAX_CONNECTIONS, DEFAULT_WAL_READ_CONCURRENCY,
                DEFAULT_WAL_READ_MAX_BYTES);
    }

    public SafekeeperLimits withWalsenderMaxConnections(int n) {
        return new SafekeeperLimits(n, walReadConcurrency, walReadMaxBytes);
    }

    public SafekeeperLimits withWalReadConcurrency(int n) {
        return new SafekeeperLimits(walsenderMaxConnections, n, walReadMaxBytes);
    }
}
