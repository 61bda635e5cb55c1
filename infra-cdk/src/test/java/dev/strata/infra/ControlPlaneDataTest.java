package dev.strata.infra;

import dev.strata.infra.testing.Synthesized;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awscdk.assertions.Match;
import software.amazon.awscdk.assertions.Template;

/** The metadata table, the history bucket and the secrets (ControlPlaneData). */
class ControlPlaneDataTest {

    private final Template t = Synthesized.get().template;

    @Test
    void tableHasPointInTimeRecovery() {
        t.hasResourceProperties("AWS::DynamoDB::Table", Match.objectLike(Map.of(
                "PointInTimeRecoverySpecification", Map.of("PointInTimeRecoveryEnabled", true))));
    }

    @Test
    void tableHasTheGsi1IndexOfTheMetadataStore() {
        t.hasResourceProperties("AWS::DynamoDB::Table", Match.objectLike(Map.of(
                "KeySchema", List.of(Map.of("AttributeName", "pk", "KeyType", "HASH"), Map.of("AttributeName", "sk", "KeyType", "RANGE")),
                "GlobalSecondaryIndexes", List.of(Match.objectLike(Map.of("IndexName", "gsi1",
                        "Projection", Map.of("ProjectionType", "ALL")))))));
    }

    @Test
    void historyBucketIsVersionedEncryptedAndPrivate() {
        t.hasResourceProperties("AWS::S3::Bucket", Match.objectLike(Map.of(
                "VersioningConfiguration", Map.of("Status", "Enabled"),
                "BucketEncryption", Match.objectLike(Map.of()),
                "PublicAccessBlockConfiguration", Map.of("BlockPublicAcls", true, "BlockPublicPolicy", true,
                        "IgnorePublicAcls", true, "RestrictPublicBuckets", true))));
    }

    @Test
    void deletedLayersExpireAsNoncurrentVersions() {
        t.hasResourceProperties("AWS::S3::Bucket", Match.objectLike(Map.of("LifecycleConfiguration", Map.of("Rules",
                Match.arrayWith(List.of(Match.objectLike(Map.of("Id", "deleted-layers",
                        "NoncurrentVersionExpiration", Map.of("NoncurrentDays", 90),
                        "ExpiredObjectDeleteMarker", true))))))));
    }

    @Test
    void fiveSecretsAreCreated() {
        t.resourceCountIs("AWS::SecretsManager::Secret", 5);
    }
}
