package dev.strata.infra;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.infra.testing.Synthesized;
import dev.strata.pgcore.metrics.MetricNames;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import software.amazon.awscdk.assertions.Annotations;
import software.amazon.awscdk.assertions.Match;
import software.amazon.awscdk.assertions.Template;
import software.amazon.awscdk.cxapi.CloudAssembly;

/** Alarms and dashboard (Monitoring), and cdk-nag's AwsSolutions pack over the whole app. */
class MonitoringAndNagTest {

    private final Synthesized s = Synthesized.get();
    private final Template t = s.template;

    @Test
    void theFiveAlarmsExist() {
        for (String name : new String[] {"safekeeper-quorum-lost", "pageserver-lag", "s3-upload-backlog", "wake-failures",
                "compute-throttled"}) {
            t.hasResourceProperties("AWS::CloudWatch::Alarm", Match.objectLike(Map.of("AlarmName", "strata-test-" + name)));
        }
    }

    @Test
    void quorumLostFiresBelowTwoRunningSafekeepers() {
        t.hasResourceProperties("AWS::CloudWatch::Alarm", Match.objectLike(Map.of(
                "AlarmName", "strata-test-safekeeper-quorum-lost", "Threshold", 2,
                "ComparisonOperator", "LessThanThreshold", "TreatMissingData", "breaching")));
    }

    @Test
    void quorumLostCountsTheSafekeepersReportingInQuorumAMissingOneAsZero() {
        t.hasResourceProperties("AWS::CloudWatch::Alarm", Match.objectLike(Map.of(
                "AlarmName", "strata-test-safekeeper-quorum-lost",
                "Metrics", Match.arrayWith(List.of(Match.objectLike(Map.of(
                        "Expression", "FILL(q1, 0) + FILL(q2, 0) + FILL(q3, 0)")))))));
    }

    @Test
    void quorumLostWatchesEachSafekeeperByItsNodeDimension() {
        for (int i = 1; i <= 3; i++) {
            t.hasResourceProperties("AWS::CloudWatch::Alarm", Match.objectLike(Map.of(
                    "AlarmName", "strata-test-safekeeper-quorum-lost",
                    "Metrics", Match.arrayWith(List.of(Match.objectLike(Map.of("Id", "q" + i,
                            "MetricStat", Match.objectLike(Map.of("Stat", "Minimum", "Metric", Map.of(
                                    "Namespace", "Strata", "MetricName", MetricNames.SAFEKEEPER_IN_QUORUM,
                                    "Dimensions", List.of(Map.of("Name", "Environment", "Value", "test"),
                                            Map.of("Name", "Node", "Value", "sk-" + i))))))))))));
        }
    }

    @Test
    void wakeFailuresCountTheProxysFailedWakes() {
        t.hasResourceProperties("AWS::CloudWatch::Alarm", Match.objectLike(Map.of(
                "AlarmName", "strata-test-wake-failures",
                "Metrics", Match.arrayWith(List.of(Match.objectLike(Map.of("Id", "proxyFailed",
                        "MetricStat", Match.objectLike(Map.of("Stat", "Sum", "Metric", Match.objectLike(Map.of(
                                "MetricName", MetricNames.PROXY_WAKES_FAILED)))))))))));
    }

    @Test
    void computeThrottledWatchesTheAgentsRollUpForFifteenMinutesInARow() {
        t.hasResourceProperties("AWS::CloudWatch::Alarm", Match.objectLike(Map.of(
                "AlarmName", "strata-test-compute-throttled",
                "MetricName", MetricNames.COMPUTE_WRITERS_THROTTLED, "Namespace", "Strata", "Statistic", "Maximum",
                "Period", 60, "EvaluationPeriods", 15, "Threshold", 1,
                "Dimensions", List.of(Map.of("Name", "Environment", "Value", "test")),
                "TreatMissingData", "notBreaching")));
    }

    @Test
    void dashboardGraphsTheComputeAgentsMetrics() {
        String body = t.findResources("AWS::CloudWatch::Dashboard").toString();
        for (String name : new String[] {MetricNames.COMPUTE_RUNNING, MetricNames.COMPUTE_FLUSH_LAG_BYTES,
                MetricNames.COMPUTE_COMMITS_WAITING, MetricNames.COMPUTE_WRITERS_THROTTLED}) {
            assertThat(body).as(name).contains("\"" + name + "\"");
        }
    }

    @Test
    void dashboardGraphsTheSafekeeperAndProxyMetrics() {
        String body = t.findResources("AWS::CloudWatch::Dashboard").toString();
        for (String name : new String[] {MetricNames.SAFEKEEPER_IN_QUORUM, MetricNames.SAFEKEEPER_FLUSH_LAG_BYTES,
                MetricNames.SAFEKEEPER_OFFLOAD_BACKLOG_BYTES, MetricNames.SAFEKEEPER_DISK_FREE_BYTES,
                MetricNames.PROXY_CONNECTIONS_OPEN, MetricNames.PROXY_CONNECTIONS_REFUSED, MetricNames.PROXY_WAKES_FAILED,
                MetricNames.PROXY_WAKE_LATENCY_P50, MetricNames.PROXY_ENDPOINTS_RUNNING}) {
            assertThat(body).as(name).contains("\"" + name + "\"");
        }
    }

    @Test
    void dashboardExists() {
        t.hasResourceProperties("AWS::CloudWatch::Dashboard", Match.objectLike(Map.of("DashboardName", "strata-test")));
    }

    @Test
    void appHasNoUnsuppressedNagErrors() {
        var errors = Annotations.fromStack(s.stack).findError("*", Match.stringLikeRegexp("AwsSolutions-.*"));
        assertThat(errors.stream().map(e -> e.getId() + ": " + e.getEntry().getData()).collect(Collectors.joining("\n")))
                .isEmpty();
    }

    @Test
    void appHasNoUnsuppressedNagWarnings() {
        var warnings = Annotations.fromStack(s.stack).findWarning("*", Match.stringLikeRegexp("AwsSolutions-.*"));
        assertThat(warnings).isEmpty();
    }

    @Test
    void templateFitsCloudFormationsSizeLimit() throws Exception {
        CloudAssembly assembly = s.app.synth();
        long bytes = java.nio.file.Files.size(java.nio.file.Path.of(assembly.getStackByName(s.stack.getStackName()).getTemplateFullPath()));
        assertThat(bytes).isLessThan(1_000_000);
    }
}
