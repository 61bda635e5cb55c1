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

    private MetricNames() {
    }
}
