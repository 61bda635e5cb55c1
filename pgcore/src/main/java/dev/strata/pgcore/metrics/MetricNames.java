package dev.strata.pgcore.metrics;

/**
 * The metrics Strata's services publish, in one place for the service that emits each and the
 * alarms that watch it (infra-cdk {@code Monitoring}); a rename on one side only would leave an
 * alarm that never fires.
 */
public final class MetricNames {

    /** The CloudWatch namespace of every Strata metric. */
    public static final String NAMESPACE = "Strata";
    /** The one dimension: the deployment's environment name (the CDK stack's {@code envName}). */
    public static final String ENVIRONMENT = "Environment";

    /**
     * The pageserver: bytes of WAL its sources have (the end of WAL they last reported) that it has
     * not ingested yet, the largest over its timelines.
     */
    public static final String PAGESERVER_INGEST_LAG_BYTES = "PageserverIngestLagBytes";
    /** The pageserver: bytes of layer files written locally and not yet in S3, over all timelines. */
    public static final String REMOTE_UPLOAD_QUEUE_BYTES = "RemoteUploadQueueBytes";

    /** The safekeeper's second dimension: its node id ({@code sk-1}), so alarms can count members. */
    public static final String NODE = "Node";

    /**
     * A safekeeper: 1 when it can accept WAL for every timeline it holds (it is running and no
     * timeline's WAL store stopped on a failed write or fsync), so it can be one of a compute's
     * 2-of-3 quorum; 0 otherwise. A node that is down reports nothing.
     */
    public static final String SAFEKEEPER_IN_QUORUM = "SafekeeperInQuorum";
    /** A safekeeper: how many of its timelines have a receiver streaming WAL from a compute. */
    public static final String SAFEKEEPER_RECEIVERS = "SafekeeperReceivers";
    /** A safekeeper: bytes its flush LSN is behind the commit LSN it knows, the largest over its timelines. */
    public static final String SAFEKEEPER_FLUSH_LAG_BYTES = "SafekeeperFlushLagBytes";
    /** A safekeeper: bytes the commit LSN advanced since the previous report, summed over its timelines. */
    public static final String SAFEKEEPER_COMMIT_ADVANCE_BYTES = "SafekeeperCommitAdvanceBytes";
    /** A safekeeper: committed WAL in complete segments not yet offloaded to S3, summed over timelines. */
    public static final String SAFEKEEPER_OFFLOAD_BACKLOG_BYTES = "SafekeeperOffloadBacklogBytes";
    /** A safekeeper: bytes of WAL it keeps on disk (flush LSN minus where its retained WAL begins), summed. */
    public static final String SAFEKEEPER_WAL_RETAINED_BYTES = "SafekeeperWalRetainedBytes";
    /** A safekeeper: usable bytes left on the file system of its data directory. */
    public static final String SAFEKEEPER_DISK_FREE_BYTES = "SafekeeperDiskFreeBytes";

    /**
     * A compute agent (dimension {@link #NODE}: its agent id): 1 while it runs a Postgres that
     * serves an endpoint, 0 while idle in the warm pool, starting or failed.
     */
    public static final String COMPUTE_RUNNING = "ComputeRunning";
    /** A compute agent, while running: bytes the safekeepers' quorum has not flushed of its WAL. */
    public static final String COMPUTE_FLUSH_LAG_BYTES = "ComputeFlushLagBytes";
    /** A compute agent, while running: commits waiting for the safekeepers' quorum. */
    public static final String COMPUTE_COMMITS_WAITING = "ComputeCommitsWaiting";
    /** A compute agent, while running: 1 while its writers are throttled (decision 0008), else 0. */
    public static final String COMPUTE_WRITERS_THROTTLED = "ComputeWritersThrottled";

    /** The proxy: client connections open now. */
    public static final String PROXY_CONNECTIONS_OPEN = "ProxyConnectionsOpen";
    /** The proxy: client connections its listener accepted during the interval. */
    public static final String PROXY_CONNECTIONS_ACCEPTED = "ProxyConnectionsAccepted";
    /**
     * The proxy: connections refused with an error during the interval, all kinds; one more metric
     * per kind is named this plus the kind in camel case ({@code ProxyConnectionsRefusedWakeFailed}).
     */
    public static final String PROXY_CONNECTIONS_REFUSED = "ProxyConnectionsRefused";
    /** The proxy: wakes of a suspended endpoint started during the interval. */
    public static final String PROXY_WAKES_STARTED = "ProxyWakesStarted";
    /** The proxy: wakes that ended without a running compute (timed out or failed) during the interval. */
    public static final String PROXY_WAKES_FAILED = "ProxyWakesFailed";
    /** The proxy: the median time a successful wake took during the interval (absent without wakes). */
    public static final String PROXY_WAKE_LATENCY_P50 = "ProxyWakeLatencyP50";
    /** The proxy: the longest time a successful wake took during the interval (absent without wakes). */
    public static final String PROXY_WAKE_LATENCY_MAX = "ProxyWakeLatencyMax";
    /** The proxy: endpoints it knows as running. */
    public static final String PROXY_ENDPOINTS_RUNNING = "ProxyEndpointsRunning";

    private MetricNames() {
    }
}
