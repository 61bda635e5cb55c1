package dev.strata.proxy.protocol;

/**
 * Why the proxy refused or ended a connection; each kind maps to the SQLSTATE the client
 * sees in the FATAL ErrorResponse (and to a log/metrics label).
 */
public enum ErrorKind {
    /** Malformed startup-phase input, SSL negotiation misuse, startup timeout. */
    PROTOCOL("08P01"),
    /** Neither SNI nor {@code options=endpoint=} named an endpoint. */
    MISSING_ENDPOINT("08004"),
    /** SNI and the options name different endpoints, or the id is malformed. */
    ENDPOINT_MISMATCH("08004"),
    /** The control plane does not know the endpoint (like an unknown database). */
    UNKNOWN_ENDPOINT("3D000"),
    /** The compute did not wake within the wake timeout. */
    WAKE_FAILED("57P03"),
    /** The compute woke but could not be connected to. */
    COMPUTE_UNREACHABLE("57P03"),
    /** The proxy requires TLS and the client did not ask for it (as PostgreSQL refuses a hostssl-only client). */
    TLS_REQUIRED("28000"),
    /** The proxy's connection limit was reached. */
    TOO_MANY_CONNECTIONS("53300"),
    /** A bug or unexpected failure in the proxy. */
    INTERNAL("XX000");

    private final String sqlState;

    ErrorKind(String sqlState) {
        this.sqlState = sqlState;
    }

    public String sqlState() {
        return sqlState;
    }
}
