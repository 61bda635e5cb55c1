package dev.strata.infra;

/**
 * The ports of the AWS layout, one constant per listener (docs/aws.md, "Flows"). The services take
 * them as command-line options; the security groups open exactly these, between exactly the
 * components that talk over them.
 */
public final class Ports {
    /** The proxy's PostgreSQL client port: the NLB listener and the proxy tasks (TLS with SNI at the proxy). */
    public static final int PROXY_CLIENT = 5432;
    /** The proxy's status API (admin token); not opened to anyone yet. */
    public static final int PROXY_STATUS = 8080;
    /** Safekeeper management API (HTTP, TCP) and the peers' position datagrams (UDP, same number). */
    public static final int SAFEKEEPER_HTTP = 7676;
    /** Safekeeper walsender (PostgreSQL replication protocol): the pageserver's WAL receivers. */
    public static final int SAFEKEEPER_WALSENDER = 5454;
    /** Pageserver management API (HTTP). */
    public static final int PAGESERVER_HTTP = 9898;
    /** Pageserver page service (GetPage@LSN, basebackup). */
    public static final int PAGESERVER_PAGESERVICE = 6400;
    /** A compute's PostgreSQL: the proxy's byte pipe, the safekeepers' replication connections, check-activity. */
    public static final int COMPUTE_POSTGRES = 5432;
    /** A compute agent's HTTP API (start/stop Postgres), called by the control plane's functions. */
    public static final int COMPUTE_AGENT = 3080;
    /** NFS, for the services' EFS volumes. */
    public static final int NFS = 2049;
    /** HTTPS, to AWS APIs (through the NAT gateway or the gateway endpoints). */
    public static final int HTTPS = 443;

    private Ports() {
    }
}
