package dev.strata.proxy.wake;

import java.util.Objects;

/** Where a running compute accepts PostgreSQL connections. */
public record ComputeAddress(String host, int port) {
    public ComputeAddress {
        Objects.requireNonNull(host, "host is null");
        if (host.isBlank()) {
            throw new IllegalArgumentException("host is blank");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port must be 1..65535: " + port);
        }
    }

    @Override
    public String toString() {
        return host + ":" + port;
    }
}
