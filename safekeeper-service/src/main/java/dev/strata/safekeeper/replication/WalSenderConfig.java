package dev.strata.safekeeper.replication;

import java.time.Duration;
import java.util.Objects;

/**
 * How a safekeeper's walsender authenticates and paces its clients.
 *
 * @param user              the replication user clients log in as
 * @param password          its password (SCRAM-SHA-256); there is no unauthenticated access
 * @param serverVersion     reported as {@code server_version}; pg_receivewal needs a major at or below its own
 * @param keepaliveInterval a keepalive goes out at least this often while idle (well under wal_receiver_timeout/2)
 * @param maxChunk          bytes of WAL per XLogData message
 */
public record WalSenderConfig(String user, String password, String serverVersion, Duration keepaliveInterval, int maxChunk) {
    public WalSenderConfig {
        Objects.requireNonNull(user, "user is null");
        Objects.requireNonNull(password, "password is null");
        Objects.requireNonNull(serverVersion, "serverVersion is null");
        Objects.requireNonNull(keepaliveInterval, "keepaliveInterval is null");
        if (maxChunk < 1024 || maxChunk > 16 << 20) {
            throw new IllegalArgumentException("maxChunk " + maxChunk + " is outside [1 KiB, 16 MiB]");
        }
    }

    public static WalSenderConfig defaults(String user, String password) {
        return new WalSenderConfig(user, password, "17.6", Duration.ofSeconds(5), 128 * 1024);
    }
}
