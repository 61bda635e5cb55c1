package dev.strata.proxy;

import dev.strata.proxy.wake.WakePolicy;
import io.netty.util.NetUtil;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Everything the proxy can be told; {@link #defaults()} works for {@code strata up}.
 *
 * @param host               the client listener's address, an IP literal (loopback by default;
 *                           {@code 0.0.0.0} or {@code ::} for every interface, as in an ECS task)
 * @param port               listen port; 0 picks a free one (tests)
 * @param tlsDirectory       where the local CA and server certificate live (created if
 *                           missing); null: no TLS, SSLRequest is answered 'N'
 * @param maxConnections     client connections the proxy holds at once; one more gets 53300
 * @param startupTimeout     how long a client may take to complete TLS and its startup packet
 * @param connectTimeout     one TCP connect to a compute
 * @param connectAttempts    connects to a compute (each failure forgets the address and wakes again)
 * @param wake               wake timeout and retry backoff
 * @param defaultIdleTimeout idle time before suspend, for endpoints whose spec sets none
 * @param idleSweepInterval  how often idle endpoints are looked for
 * @param ioThreads          Netty event loop threads
 * @param requireTls         refuse a client that does not start with SSLRequest ({@code 28000}, the
 *                           way PostgreSQL refuses a {@code hostssl}-only connection); needs
 *                           {@code tlsDirectory}. CancelRequests stay allowed in plain text, as in
 *                           PostgreSQL: they carry no data and libpq sends them unencrypted.
 */
public record ProxyConfig(String host, int port, Path tlsDirectory, int maxConnections, Duration startupTimeout,
                          Duration connectTimeout, int connectAttempts, WakePolicy wake,
                          Duration defaultIdleTimeout, Duration idleSweepInterval, int ioThreads,
                          boolean requireTls) {

    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 55432;

    public ProxyConfig {
        requireIpLiteral(host);
        Objects.requireNonNull(startupTimeout, "startupTimeout is null");
        Objects.requireNonNull(connectTimeout, "connectTimeout is null");
        Objects.requireNonNull(wake, "wake is null");
        Objects.requireNonNull(defaultIdleTimeout, "defaultIdleTimeout is null");
        Objects.requireNonNull(idleSweepInterval, "idleSweepInterval is null");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0..65535: " + port);
        }
        if (maxConnections < 1 || connectAttempts < 1 || ioThreads < 1) {
            throw new IllegalArgumentException("maxConnections, connectAttempts and ioThreads must be >= 1: "
                    + maxConnections + ", " + connectAttempts + ", " + ioThreads);
        }
        if (requireTls && tlsDirectory == null) {
            throw new IllegalArgumentException("requireTls needs a tlsDirectory (the proxy has no certificate to offer)");
        }
        for (Duration d : new Duration[]{startupTimeout, connectTimeout, defaultIdleTimeout, idleSweepInterval}) {
            if (!d.isPositive()) {
                throw new IllegalArgumentException("durations must be positive: " + d);
            }
        }
    }

    /**
     * Checks a listen address: an IPv4 or IPv6 literal, never a name (a name would be resolved once,
     * at bind time, to whichever address the resolver returns first).
     *
     * @return the address
     * @throws IllegalArgumentException naming the value when it is not an IP literal
     */
    public static String requireIpLiteral(String host) {
        Objects.requireNonNull(host, "host is null");
        if (!NetUtil.isValidIpV4Address(host) && !NetUtil.isValidIpV6Address(host)) {
            throw new IllegalArgumentException("listen address must be an IPv4 or IPv6 literal (127.0.0.1, 0.0.0.0, ::),"
                    + " got '" + host + "'");
        }
        return host;
    }

    public static ProxyConfig defaults() {
        return new ProxyConfig(DEFAULT_HOST, DEFAULT_PORT, null, 1000, Duration.ofSeconds(10), Duration.ofSeconds(5), 3,
                WakePolicy.DEFAULT, Duration.ofSeconds(300), Duration.ofSeconds(1), 2, false);
    }

    public ProxyConfig withHost(String h) {
        return new ProxyConfig(h, port, tlsDirectory, maxConnections, startupTimeout, connectTimeout, connectAttempts,
                wake, defaultIdleTimeout, idleSweepInterval, ioThreads, requireTls);
    }

    public ProxyConfig withPort(int p) {
        return new ProxyConfig(host, p, tlsDirectory, maxConnections, startupTimeout, connectTimeout, connectAttempts,
                wake, defaultIdleTimeout, idleSweepInterval, ioThreads, requireTls);
    }

    public ProxyConfig withTlsDirectory(Path dir) {
        return new ProxyConfig(host, port, dir, maxConnections, startupTimeout, connectTimeout, connectAttempts,
                wake, defaultIdleTimeout, idleSweepInterval, ioThreads, requireTls);
    }

    public ProxyConfig withMaxConnections(int n) {
        return new ProxyConfig(host, port, tlsDirectory, n, startupTimeout, connectTimeout, connectAttempts,
                wake, defaultIdleTimeout, idleSweepInterval, ioThreads, requireTls);
    }

    public ProxyConfig withStartupTimeout(Duration d) {
        return new ProxyConfig(host, port, tlsDirectory, maxConnections, d, connectTimeout, connectAttempts,
                wake, defaultIdleTimeout, idleSweepInterval, ioThreads, requireTls);
    }

    public ProxyConfig withWake(WakePolicy w) {
        return new ProxyConfig(host, port, tlsDirectory, maxConnections, startupTimeout, connectTimeout,
                connectAttempts, w, defaultIdleTimeout, idleSweepInterval, ioThreads, requireTls);
    }

    public ProxyConfig withDefaultIdleTimeout(Duration d) {
        return new ProxyConfig(host, port, tlsDirectory, maxConnections, startupTimeout, connectTimeout,
                connectAttempts, wake, d, idleSweepInterval, ioThreads, requireTls);
    }

    public ProxyConfig withIoThreads(int n) {
        return new ProxyConfig(host, port, tlsDirectory, maxConnections, startupTimeout, connectTimeout,
                connectAttempts, wake, defaultIdleTimeout, idleSweepInterval, n, requireTls);
    }

    public ProxyConfig withIdleSweepInterval(Duration d) {
        return new ProxyConfig(host, port, tlsDirectory, maxConnections, startupTimeout, connectTimeout,
                connectAttempts, wake, defaultIdleTimeout, d, ioThreads, requireTls);
    }

    public ProxyConfig withRequireTls(boolean require) {
        return new ProxyConfig(host, port, tlsDirectory, maxConnections, startupTimeout, connectTimeout,
                connectAttempts, wake, defaultIdleTimeout, idleSweepInterval, ioThreads, require);
    }
}
