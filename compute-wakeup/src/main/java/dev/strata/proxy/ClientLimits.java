package dev.strata.proxy;

/**
 * Per-client bounds of the proxy before a session is established (docs/proxy.md, "Limits"), so
 * slow or silent clients cannot lock real ones out. Apart from {@link ProxyConfig}, which bounds
 * the total ({@link ProxyConfig#maxConnections()}) and the startup deadline
 * ({@link ProxyConfig#startupTimeout()}, counted from the connect, so a trickle of bytes does not
 * extend it).
 *
 * @param maxStartupPending connections that have not sent their startup packet yet (TLS
 *                          handshake included). When one more arrives, the one that has waited
 *                          longest is closed with 53300 to make room: a real client sends its
 *                          startup packet within a round trip, so it is never the oldest, while
 *                          a thousand silent sockets only ever hold this many slots
 * @param maxAuthenticating connections past their startup packet whose session is not established
 *                          yet (connecting, waking the compute, authenticating there); one more is
 *                          refused with 53300 before a compute is connected or woken
 */
public record ClientLimits(int maxStartupPending, int maxAuthenticating) {

    public static final int DEFAULT_MAX_STARTUP_PENDING = 100;
    public static final int DEFAULT_MAX_AUTHENTICATING = 200;

    public ClientLimits {
        if (maxStartupPending < 1 || maxAuthenticating < 1) {
            throw new IllegalArgumentException("maxStartupPending and maxAuthenticating must be at least 1: "
                    + maxStartupPending + ", " + maxAuthenticating);
        }
    }

    public static ClientLimits defaults() {
        return new ClientLimits(DEFAULT_MAX_STARTUP_PENDING, DEFAULT_MAX_AUTHENTICATING);
    }
}
