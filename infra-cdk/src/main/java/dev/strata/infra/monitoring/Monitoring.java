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
 * Alarms and the dashboard. Two alarms watch metrics AWS publishes (safekeeper tasks running, from
 * Container Insights; failed wake executions, from Step Functions); two watch metrics that
 * the pageserver publishes in the {@value #NAMESPACE} namespace (pgcore {@code MetricNames}; CloudWatch
 * embedded metric format in its log stream, every minute, started by its
 * {@code STRATA_PAGESERVER_METRICS_ENVIRONMENT}): without data those alarms stay OK
 * ({@code notBreaching}).
 */
public final class Monitoring extends Construct {

    public static final String NAMESPACE = MetricNames.NAMESPACE;
    /** Pageserver ingest lag above which an operator should look (1 GiB of WAL not yet in layers). */
    public static final double PAGESERVER_LAG_BYTES = 1024.0 * 1024 * 1024;
    /** Layer bytes waiting for upload to S3 above which an operator should look. */
    public static final double UPLOAD_BACKLOG_BYTES = 2.0 * 1024 * 1024 * 1024;

    private final Topic topic;
    private final Alarm quorumLost;
    private final Alarm pageserverLag;
    private final Alarm uploadBacklog;
    private final Alarm wakeFailures;
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
        for (int i = 0; i < storage.safekeepers().size(); i++) {
            running.put("sk" + (i + 1), runningTasks(storage, storage.safekeepers().get(i)));
        }
        MathExpression runningSafekeepers = MathExpression.Builder.create()
                .expression(String.join(" + ", running.keySet()))
                .usingMetrics(running)
                .label("safekeepers running")
                .period(Duration.minutes(1))
                .build();
        quorumLost = Alarm.Builder.create(this, "QuorumLost")
                .alarmName("strata-" + envName + "-safekeeper-quorum-lost")
                .alarmDescription("Fewer than 2 of 3 safekeepers are running: commits stop (no WAL quorum).")
                .metric(runningSafekeepers)
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
                .expression("failed + timedOut + aborted")
                .usingMetrics(Map.of(
                        "failed", wake.metricFailed(MetricOptions.builder().statistic("Sum").build()),
                        "timedOut", wake.metricTimedOut(MetricOptions.builder().statistic("Sum").build()),
                        "aborted", wake.metricAborted(MetricOptions.builder().statistic("Sum").build())))
                .label("wake executions not succeeded")
                .period(Duration.minutes(5))
                .build();
        wakeFailures = Alarm.Builder.create(this, "WakeFailures")
                .alarmName("strata-" + envName + "-wake-failures")
                .alarmDescription("A wake workflow failed, timed out or was aborted: a client could not connect.")
                .metric(wakeFailed)
                .threshold(1)
                .comparisonOperator(ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
                .evaluationPeriods(1)
                .treatMissingData(TreatMissingData.NOT_BREACHING)
                .build();
        for (Alarm a : List.of(quorumLost, pageserverLag, uploadBacklog, wakeFailures)) {
            a.addAlarmAction(notify);
            a.addOkAction(notify);
        }

        List<IMetric> lambdaErrors = new ArrayList<>();
        functions.functions().values().forEach(f -> lambdaErrors.add(f.metricErrors()));
        List<IWidget> row1 = List.of(
                graph("Safekeepers running", runningSafekeepers),
                graph("Wake executions not succeeded", wakeFailed),
                graph("Wake duration", wake.metricTime()));
        List<IWidget> row2 = List.of(
                graph("Pageserver ingest lag (bytes)", lag),
                graph("S3 upload backlog (bytes)", backlog),
                GraphWidget.Builder.create().title("Control plane function errors").left(lambdaErrors).width(8).build());
        dashboard = Dashboard.Builder.create(this, "Dashboard")
                .dashboardName("strata-" + envName)
                .widgets(List.of(row1, row2))
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
        return Metric.Builder.create().namespace(NAMESPACE).metricName(name)
                .dimensionsMap(Map.of(MetricNames.ENVIRONMENT, envName)).statistic("Maximum").period(Duration.minutes(5)).build();
    }

    public Topic topic() { return topic; }
    public Alarm quorumLost() { return quorumLost; }
    public Alarm pageserverLag() { return pageserverLag; }
    public Alarm uploadBacklog() { return uploadBacklog; }
    public Alarm wakeFailures() { return wakeFailures; }
    public Dashboard dashboard() { return dashboard; }
}
