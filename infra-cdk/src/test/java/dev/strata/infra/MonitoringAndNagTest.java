package dev.strata.infra;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.infra.testing.Synthesized;
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
    void theFourAlarmsExist() {
        for (String name : new String[] {"safekeeper-quorum-lost", "pageserver-lag", "s3-upload-backlog", "wake-failures"}) {
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
