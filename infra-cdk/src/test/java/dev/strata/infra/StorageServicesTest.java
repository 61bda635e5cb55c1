package dev.strata.infra;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.infra.testing.Synthesized;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awscdk.assertions.Match;
import software.amazon.awscdk.assertions.Template;

/** Safekeepers and pageserver on ECS with their volumes (StorageServices, decision 0020). */
class StorageServicesTest {

    private final Template t = Synthesized.get().template;

    @Test
    void eachSafekeeperHasAOneZoneVolumeInItsOwnZone() {
        for (int i = 0; i < 3; i++) {
            t.hasResourceProperties("AWS::EFS::FileSystem", Match.objectLike(Map.of(
                    "AvailabilityZoneName", Map.of("Fn::Select", List.of(i, Map.of("Fn::GetAZs", ""))),
                    "Encrypted", true)));
        }
    }

    @Test
    void volumesSurviveStackDeletionAndReplacement() {
        var fs = t.findResources("AWS::EFS::FileSystem");
        assertThat(fs).hasSize(4);
        assertThat(fs.values()).allMatch(r -> "Retain".equals(r.get("DeletionPolicy")));
    }

    @Test
    void safekeeperServicesRunOneTaskAndStopItBeforeStartingAnother() {
        for (int i = 1; i <= 3; i++) {
            t.hasResourceProperties("AWS::ECS::Service", Match.objectLike(Map.of(
                    "ServiceName", "strata-test-sk-" + i,
                    "DesiredCount", 1,
                    "DeploymentConfiguration", Match.objectLike(Map.of("MinimumHealthyPercent", 0, "MaximumPercent", 100)))));
        }
    }

    @Test
    void safekeepersMountTheirVolumeThroughAnAccessPointWithIam() {
        t.hasResourceProperties("AWS::ECS::TaskDefinition", Match.objectLike(Map.of(
                "Family", "strata-test-sk-2",
                "Volumes", List.of(Match.objectLike(Map.of("EFSVolumeConfiguration", Match.objectLike(Map.of(
                        "TransitEncryption", "ENABLED",
                        "AuthorizationConfig", Match.objectLike(Map.of("IAM", "ENABLED"))))))))));
    }

    @Test
    void safekeeperNamesItsTwoPeersByServiceDiscoveryName() {
        t.hasResourceProperties("AWS::ECS::TaskDefinition", Match.objectLike(Map.of(
                "Family", "strata-test-sk-1",
                "ContainerDefinitions", List.of(Match.objectLike(Map.of("Command", Match.arrayWith(List.of(
                        "--peer", "sk-2=http://sk-2.strata.internal:7676",
                        "--peer", "sk-3=http://sk-3.strata.internal:7676"))))))));
    }

    @Test
    void pageserverStoresHistoryInTheBucket() {
        t.hasResourceProperties("AWS::ECS::TaskDefinition", Match.objectLike(Map.of(
                "Family", "strata-test-pageserver",
                "ContainerDefinitions", List.of(Match.objectLike(Map.of("Environment", Match.arrayWith(List.of(
                        Match.objectLike(Map.of("Name", "STRATA_PAGESERVER_REMOTE_STORAGE_BUCKET"))))))))));
    }

    @Test
    void safekeepersPublishTheirMetricsUnderTheEnvironmentTheAlarmsWatch() {
        for (int i = 1; i <= 3; i++) {
            t.hasResourceProperties("AWS::ECS::TaskDefinition", Match.objectLike(Map.of(
                    "Family", "strata-test-sk-" + i,
                    "ContainerDefinitions", List.of(Match.objectLike(Map.of("Environment", Match.arrayWith(List.of(
                            Map.of("Name", "STRATA_SAFEKEEPER_METRICS_ENVIRONMENT", "Value", "test")))))))));
        }
    }

    @Test
    void pageserverPublishesItsMetricsUnderTheEnvironmentTheAlarmsWatch() {
        t.hasResourceProperties("AWS::ECS::TaskDefinition", Match.objectLike(Map.of(
                "Family", "strata-test-pageserver",
                "ContainerDefinitions", List.of(Match.objectLike(Map.of("Environment", Match.arrayWith(List.of(
                        Map.of("Name", "STRATA_PAGESERVER_METRICS_ENVIRONMENT", "Value", "test")))))))));
    }

    @Test
    void clusterHasContainerInsights() {
        t.hasResourceProperties("AWS::ECS::Cluster", Match.objectLike(Map.of("ClusterSettings",
                List.of(Map.of("Name", "containerInsights", "Value", "enabled")))));
    }
}
