package dev.strata.infra.monitoring;

import dev.strata.infra.control.ControlPlaneFunctions;
import dev.strata.infra.control.Workflows;
import dev.strata.infra.storage.StorageServices;
import dev.strata.pgcore.metrics.MetricNames;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import software.amazon.awscdk.Duration;
import software.amazon.awscdk.services.cloudwatch.Alarm;
import software.amazon.awscdk.services.cloudwatch.ComparisonOperator;
import software.amazon.awscdk.services.cloudwatch.Dashboard;
import software.amazon.awscdk.services.cloudwatch.GraphWidget;
import software.amazon.awscdk.services.cloudwatch.IMetric;
import software.amazon.awscdk.services.cloudwatch.IWidget;
import software.amazon.awscdk.services.cloudwatch.MathExpression;
import software.amazon.awscdk.services.cloudwatch.Metric;
import software.amazon.awscdk.services.cloudwatch.MetricOptions;
import software.amazon.awscdk.services.cloudwatch.TreatMissingData;
import software.amazon.awscdk.services.cloudwatch.actions.SnsAction;
import software.amazon.awscdk.services.ecs.FargateService;
import software.amazon.awscdk.services.kms.Alias;
import software.amazon.awscdk.services.sns.Topic;
import software.amazon.awscdk.services.stepfunctions.StateMachine;
import software.constructs.Construct;

/**
 * Alarms and the dashboard, mostly on metrics the services publish in the {@value #NAMESPACE}
 * namespace (pgcore {@code MetricNames}; CloudWatch embedded metric format in their log streams,
 * every minute, started by {@code STRATA_<SERVICE>_METRICS_ENVIRONMENT}).
 * <ul>
 *   <li>quorum lost: fewer than 2 safekeepers report {@code SafekeeperInQuorum} = 1 (each is
 *       counted by its {@code Node} dimension; a safekeeper that reports nothing counts 0, and no
 *       data at all is breaching);</li>
 *   <li>pageserver lag and S3 upload backlog: the pageserver's gauges; without data they stay OK
 *       ({@code notBreaching});</li>
 *   <li>wake failures: the proxies' {@code ProxyWakesFailed} plus the wake workflow's failed,
 *       timed-out and aborted executions (Step Functions' own metrics);</li>
 *   <li>compute throttled: some compute's writers were held back (decision 0008) in every minute
 *       of {@value #THROTTLED_MINUTES}: the safekeepers or the pageserver do not keep up with its
 *       WAL. The agents report per {@code Node} (ids come and go with the pool's tasks), so the
 *       alarm watches their roll-up to the environment (pgcore {@code MetricsReporter}).</li>
 * </ul>
 */
public final class Monitoring extends Construct {

    public static final String NAMESPACE = MetricNames.NAMESPACE;
    /** Pageserver ingest lag above which an operator should look (1 GiB of WAL not yet in layers). */
    public static final double PAGESERVER_LAG_BYTES = 1024.0 * 1024 * 1024;
    /** Layer bytes waiting for upload to S3 above which an operator should look. */
    public static final double UPLOAD_BACKLOG_BYTES = 2.0 * 1024 * 1024 * 1024;
    /**
     * Minutes in a row with some compute's writers throttled before the alarm: a bulk load is
     * throttled for seconds to minutes by design; this long means storage does not keep up.
     */
    public static final int THROTTLED_MINUTES = 15;

    private final Topic topic;
    private final Alarm quorumLost;
    private final Alarm pageserverLag;
    private final Alarm uploadBacklog;
    private final Alarm wakeFailures;
    private final Alarm computeThrottled;
    private final Dashboard dashboard;

    public Monitoring(Construct scope, String id, String envName, StorageServices storage, Workflows workflows,
            ControlPlaneFunctions functions) {
        super(scope, id);
        topic = Topic.Builder.create(this, "Alarms")
                .displayName("Strata " + envName + " alarms")
                .masterKey(Alias.fromAliasName(this, "SnsKey", "alias/aws/sns"))
                .enforceSsl(true)
                .build();
        SnsAction notify = new SnsAction(topic);

        Map<String, IMetric> running = new LinkedHashMap<>();
        Map<String, IMetric> inQuorum = new LinkedHashMap<>();
        List<String> nodes = new ArrayList<>();
        for (int i = 0; i < storage.safekeepers().size(); i++) {
            running.put("sk" + (i + 1), runningTasks(storage, storage.safekeepers().get(i)));
            String node = StorageServices.safekeeperNodeId(i + 1);
            nodes.add(node);
            inQuorum.put("q" + (i + 1), safekeeperMetric(MetricNames.SAFEKEEPER_IN_QUORUM, envName, node, "Minimum",
                    Duration.minutes(1)));
        }
        MathExpression safekeepersInQuorum = MathExpression.Builder.create()
                .expression(String.join(" + ", inQuorum.keySet().stream().map(k -> "FILL(" + k + ", 0)").toList()))
                .usingMetrics(inQuorum)
                .label("safekeepers in quorum")
                .period(Duration.minutes(1))
                .build();
        MathExpression runningSafekeepers = MathExpression.Builder.create()
                .expression(String.join(" + ", running.keySet()))
                .usingMetrics(running)
                .label("safekeepers running")
                .period(Duration.minutes(1))
                .build();
        quorumLost = Alarm.Builder.create(this, "QuorumLost")
                .alarmName("strata-" + envName + "-safekeeper-quorum-lost")
                .alarmDescription("Fewer than 2 of 3 safekeepers report that they can accept WAL (SafekeeperInQuorum):"
                        + " commits stop (no WAL quorum).")
                .metric(safekeepersInQuorum)
                .threshold(2)
                .comparisonOperator(ComparisonOperator.LESS_THAN_THRESHOLD)
                .evaluationPeriods(2)
                .treatMissingData(TreatMissingData.BREACHING)
                .build();

        Metric lag = strataMetric(MetricNames.PAGESERVER_INGEST_LAG_BYTES, envName);
        pageserverLag = Alarm.Builder.create(this, "PageserverLag")
                .alarmName("strata-" + envName + "-pageserver-lag")
                .alarmDescription("The pageserver is more than 1 GiB of committed WAL behind the safekeepers.")
                .metric(lag)
                .threshold(PAGESERVER_LAG_BYTES)
                .comparisonOperator(ComparisonOperator.GREATER_THAN_THRESHOLD)
                .evaluationPeriods(3)
                .treatMissingData(TreatMissingData.NOT_BREACHING)
                .build();

        Metric backlog = strataMetric(MetricNames.REMOTE_UPLOAD_QUEUE_BYTES, envName);
        uploadBacklog = Alarm.Builder.create(this, "UploadBacklog")
                .alarmName("strata-" + envName + "-s3-upload-backlog")
                .alarmDescription("More than 2 GiB of layers wait for upload to S3: history is not yet durable there.")
                .metric(backlog)
                .threshold(UPLOAD_BACKLOG_BYTES)
                .comparisonOperator(ComparisonOperator.GREATER_THAN_THRESHOLD)
                .evaluationPeriods(3)
                .treatMissingData(TreatMissingData.NOT_BREACHING)
                .build();

        StateMachine wake = workflows.machines().get("wake");
        MathExpression wakeFailed = MathExpression.Builder.create()
                .expression("FILL(proxyFailed, 0) + FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)")
                .usingMetrics(Map.of(
                        "proxyFailed", strataMetric(MetricNames.PROXY_WAKES_FAILED, envName, "Sum"),
                        "failed", wake.metricFailed(MetricOptions.builder().statistic("Sum").build()),
                        "timedOut", wake.metricTimedOut(MetricOptions.builder().statistic("Sum").build()),
                        "aborted", wake.metricAborted(MetricOptions.builder().statistic("Sum").build())))
                .label("wakes failed (proxy) + wake executions not succeeded")
                .period(Duration.minutes(5))
                .build();
        wakeFailures = Alarm.Builder.create(this, "WakeFailures")
                .alarmName("strata-" + envName + "-wake-failures")
                .alarmDescription("A wake failed at the proxy, or a wake workflow failed, timed out or was aborted:"
                        + " a client could not connect.")
                .metric(wakeFailed)
                .threshold(1)
                .comparisonOperator(ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
                .evaluationPeriods(1)
                .treatMissingData(TreatMissingData.NOT_BREACHING)
                .build();
        Metric throttled = computeMetric(MetricNames.COMPUTE_WRITERS_THROTTLED, envName, "Maximum");
        computeThrottled = Alarm.Builder.create(this, "ComputeThrottled")
                .alarmName("strata-" + envName + "-compute-throttled")
                .alarmDescription("A compute's writers have been throttled in each of the last " + THROTTLED_MINUTES
                        + " minutes (ComputeWritersThrottled): the safekeepers or the pageserver do not keep up with"
                        + " its WAL, and its commits are slowed.")
                .metric(throttled)
                .threshold(1)
                .comparisonOperator(ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
                .evaluationPeriods(THROTTLED_MINUTES)
                .treatMissingData(TreatMissingData.NOT_BREACHING)
                .build();
        for (Alarm a : List.of(quorumLost, pageserverLag, uploadBacklog, wakeFailures, computeThrottled)) {
            a.addAlarmAction(notify);
            a.addOkAction(notify);
        }

        List<IMetric> lambdaErrors = new ArrayList<>();
        functions.functions().values().forEach(f -> lambdaErrors.add(f.metricErrors()));
        List<IWidget> row1 = List.of(
                GraphWidget.Builder.create().title("Safekeepers in quorum / running")
                        .left(List.of(safekeepersInQuorum, runningSafekeepers)).width(8).build(),
                graph("Wakes failed", wakeFailed),
                GraphWidget.Builder.create().title("Wake latency (proxy, ms) and workflow duration")
                        .left(List.of(strataMetric(MetricNames.PROXY_WAKE_LATENCY_P50, envName, "Average"),
                                strataMetric(MetricNames.PROXY_WAKE_LATENCY_MAX, envName, "Maximum")))
                        .right(List.of(wake.metricTime())).width(8).build());
        List<IWidget> row2 = List.of(
                graph("Pageserver ingest lag (bytes)", lag),
                graph("S3 upload backlog (bytes)", backlog),
                GraphWidget.Builder.create().title("Control plane function errors").left(lambdaErrors).width(8).build());
        List<IWidget> row3 = List.of(
                perNode("Safekeeper flush lag behind commit (bytes)", MetricNames.SAFEKEEPER_FLUSH_LAG_BYTES, envName, nodes),
                perNode("Safekeeper WAL offload backlog (bytes)", MetricNames.SAFEKEEPER_OFFLOAD_BACKLOG_BYTES, envName,
                        nodes),
                perNode("Safekeeper disk free (bytes)", MetricNames.SAFEKEEPER_DISK_FREE_BYTES, envName, nodes));
        List<IWidget> row4 = List.of(
                GraphWidget.Builder.create().title("Proxy connections")
                        .left(List.of(strataMetric(MetricNames.PROXY_CONNECTIONS_OPEN, envName, "Maximum"),
                                strataMetric(MetricNames.PROXY_CONNECTIONS_ACCEPTED, envName, "Sum"),
                                strataMetric(MetricNames.PROXY_CONNECTIONS_REFUSED, envName, "Sum")))
                        .width(8).build(),
                GraphWidget.Builder.create().title("Proxy wakes")
                        .left(List.of(strataMetric(MetricNames.PROXY_WAKES_STARTED, envName, "Sum"),
                                strataMetric(MetricNames.PROXY_WAKES_FAILED, envName, "Sum")))
                        .width(8).build(),
                GraphWidget.Builder.create().title("Endpoints running (per proxy task)")
                        .left(List.of(strataMetric(MetricNames.PROXY_ENDPOINTS_RUNNING, envName, "Maximum")))
                        .width(8).build());
        List<IWidget> row5 = List.of(
                GraphWidget.Builder.create().title("Computes serving (sum over agents) / agents reporting")
                        .left(List.of(computeMetric(MetricNames.COMPUTE_RUNNING, envName, "Sum"),
                                computeMetric(MetricNames.COMPUTE_RUNNING, envName, "SampleCount")))
                        .width(8).build(),
                graph("Compute WAL not yet flushed by the quorum (largest, bytes)",
                        computeMetric(MetricNames.COMPUTE_FLUSH_LAG_BYTES, envName, "Maximum")),
                GraphWidget.Builder.create().title("Commits waiting for the quorum / writers throttled (largest)")
                        .left(List.of(computeMetric(MetricNames.COMPUTE_COMMITS_WAITING, envName, "Maximum")))
                        .right(List.of(throttled))
                        .width(8).build());
        dashboard = Dashboard.Builder.create(this, "Dashboard")
                .dashboardName("strata-" + envName)
                .widgets(List.of(row1, row2, row3, row4, row5))
                .build();
    }

    private static GraphWidget graph(String title, IMetric metric) {
        return GraphWidget.Builder.create().title(title).left(List.of(metric)).width(8).build();
    }

    private static Metric runningTasks(StorageServices storage, FargateService svc) {
        return Metric.Builder.create()
                .namespace("ECS/ContainerInsights")
                .metricName("RunningTaskCount")
                .dimensionsMap(Map.of("ClusterName", storage.cluster().getClusterName(),
                        "ServiceName", svc.getServiceName()))
                .statistic("Minimum")
                .period(Duration.minutes(1))
                .build();
    }

    private static Metric strataMetric(String name, String envName) {
        return strataMetric(name, envName, "Maximum");
    }

    private static Metric strataMetric(String name, String envName, String statistic) {
        return strataMetric(name, envName, statistic, Duration.minutes(5));
    }

    /** A metric of the environment as a whole (dimension {@code Environment} only). */
    private static Metric strataMetric(String name, String envName, String statistic, Duration period) {
        return Metric.Builder.create().namespace(NAMESPACE).metricName(name)
                .dimensionsMap(Map.of(MetricNames.ENVIRONMENT, envName)).statistic(statistic).period(period).build();
    }

    /**
     * A compute agents' metric over the whole pool: the roll-up to {@code Environment} that each
     * agent publishes beside its own {@code Node} series, per minute (the agents report every minute).
     */
    private static Metric computeMetric(String name, String envName, String statistic) {
        return strataMetric(name, envName, statistic, Duration.minutes(1));
    }

    /** A safekeeper's metric: dimensions Environment and Node (its node id). */
    private static Metric safekeeperMetric(String name, String envName, String node, String statistic, Duration period) {
        return Metric.Builder.create().namespace(NAMESPACE).metricName(name)
                .dimensionsMap(Map.of(MetricNames.ENVIRONMENT, envName, MetricNames.NODE, node))
                .statistic(statistic).period(period).label(node).build();
    }

    private static GraphWidget perNode(String title, String name, String envName, List<String> nodes) {
        List<IMetric> lines = new ArrayList<>();
        for (String node : nodes) {
            lines.add(safekeeperMetric(name, envName, node, "Maximum", Duration.minutes(5)));
        }
        return GraphWidget.Builder.create().title(title).left(lines).width(8).build();
    }

    public Topic topic() { return topic; }
    public Alarm quorumLost() { return quorumLost; }
    public Alarm pageserverLag() { return pageserverLag; }
    public Alarm uploadBacklog() { return uploadBacklog; }
    public Alarm wakeFailures() { return wakeFailures; }
    public Alarm computeThrottled() { return computeThrottled; }
    public Dashboard dashboard() { return dashboard; }
}
