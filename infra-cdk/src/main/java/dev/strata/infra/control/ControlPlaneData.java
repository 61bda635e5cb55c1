package dev.strata.infra.control;

import java.util.List;
import software.amazon.awscdk.Duration;
import software.amazon.awscdk.RemovalPolicy;
import software.amazon.awscdk.services.dynamodb.Attribute;
import software.amazon.awscdk.services.dynamodb.AttributeType;
import software.amazon.awscdk.services.dynamodb.BillingMode;
import software.amazon.awscdk.services.dynamodb.GlobalSecondaryIndexProps;
import software.amazon.awscdk.services.dynamodb.PointInTimeRecoverySpecification;
import software.amazon.awscdk.services.dynamodb.ProjectionType;
import software.amazon.awscdk.services.dynamodb.Table;
import software.amazon.awscdk.services.dynamodb.TableEncryption;
import software.amazon.awscdk.services.s3.BlockPublicAccess;
import software.amazon.awscdk.services.s3.Bucket;
import software.amazon.awscdk.services.s3.BucketEncryption;
import software.amazon.awscdk.services.s3.LifecycleRule;
import software.amazon.awscdk.services.s3.NoncurrentVersionTransition;
import software.amazon.awscdk.services.s3.ObjectOwnership;
import software.amazon.awscdk.services.s3.StorageClass;
import software.amazon.awscdk.services.secretsmanager.Secret;
import software.amazon.awscdk.services.secretsmanager.SecretStringGenerator;
import software.constructs.Construct;

/**
 * What the control plane and the storage services keep: the metadata table (decision 0017, the
 * layout in docs/control-plane.md), the history bucket (decision 0016) and the secrets.
 */
public final class ControlPlaneData extends Construct {

    /** Days a deleted or overwritten object (a layer GC removed, an old index) is kept as a noncurrent version. */
    public static final int NONCURRENT_DAYS = 30;

    private final Table table;
    private final Bucket history;
    private final Secret jwtSigningKey;
    private final Secret jwtPublicKeys;
    private final Secret replicationPassword;
    private final Secret computeAdminPassword;
    private final Secret safekeeperToken;

    public ControlPlaneData(Construct scope, String id, String envName) {
        super(scope, id);
        table = Table.Builder.create(this, "Metadata")
                .partitionKey(Attribute.builder().name("pk").type(AttributeType.STRING).build())
                .sortKey(Attribute.builder().name("sk").type(AttributeType.STRING).build())
                .billingMode(BillingMode.PAY_PER_REQUEST)
                .pointInTimeRecoverySpecification(PointInTimeRecoverySpecification.builder()
                        .pointInTimeRecoveryEnabled(true).build())
                .encryption(TableEncryption.AWS_MANAGED)
                .deletionProtection(true)
                .removalPolicy(RemovalPolicy.RETAIN)
                .build();
        table.addGlobalSecondaryIndex(GlobalSecondaryIndexProps.builder()
                .indexName("gsi1")
                .partitionKey(Attribute.builder().name("gsi1pk").type(AttributeType.STRING).build())
                .sortKey(Attribute.builder().name("gsi1sk").type(AttributeType.STRING).build())
                .projectionType(ProjectionType.ALL)
                .build());

        Bucket accessLogs = Bucket.Builder.create(this, "HistoryAccessLogs")
                .encryption(BucketEncryption.S3_MANAGED)
                .blockPublicAccess(BlockPublicAccess.BLOCK_ALL)
                .enforceSsl(true)
                .objectOwnership(ObjectOwnership.BUCKET_OWNER_PREFERRED)
                .lifecycleRules(List.of(LifecycleRule.builder().id("expire-access-logs")
                        .expiration(Duration.days(90)).build()))
                .removalPolicy(RemovalPolicy.RETAIN)
                .build();
        history = Bucket.Builder.create(this, "History")
                .encryption(BucketEncryption.S3_MANAGED)
                .blockPublicAccess(BlockPublicAccess.BLOCK_ALL)
                .enforceSsl(true)
                .versioned(true)
                .serverAccessLogsBucket(accessLogs)
                .serverAccessLogsPrefix("history/")
                .lifecycleRules(List.of(
                        // Deleted layers (GC) and replaced objects stay recoverable for a while, then go.
                        LifecycleRule.builder().id("deleted-layers")
                                .noncurrentVersionTransitions(List.of(NoncurrentVersionTransition.builder()
                                        .storageClass(StorageClass.INFREQUENT_ACCESS)
                                        .transitionAfter(Duration.days(NONCURRENT_DAYS)).build()))
                                .noncurrentVersionExpiration(Duration.days(NONCURRENT_DAYS + 60))
                                .expiredObjectDeleteMarker(true)
                                .build(),
                        LifecycleRule.builder().id("abandoned-uploads")
                                .abortIncompleteMultipartUploadAfter(Duration.days(7)).build()))
                .removalPolicy(RemovalPolicy.RETAIN)
                .build();

        String prefix = "strata/" + envName + "/";
        jwtSigningKey = Secret.Builder.create(this, "JwtSigningKey")
                .secretName(prefix + "jwt-signing-key")
                .description("Strata: the Ed25519 private JWK that signs service tokens (decision 0015). Created"
                        + " with a random placeholder, which the ServiceKeys custom resource replaces (decision 0035).")
                .build();
        jwtPublicKeys = Secret.Builder.create(this, "JwtPublicKeys")
                .secretName(prefix + "jwt-public-keys")
                .description("Strata: the JWK Set every internal listener verifies tokens with (public, kept here"
                        + " beside the private key so both change together).")
                .build();
        replicationPassword = Secret.Builder.create(this, "ReplicationPassword")
                .secretName(prefix + "replication-password")
                .description("Strata: SCRAM password of strata_replicator (pageserver -> safekeeper walsender).")
                .generateSecretString(SecretStringGenerator.builder().passwordLength(40).excludePunctuation(true).build())
                .build();
        computeAdminPassword = Secret.Builder.create(this, "ComputeAdminPassword")
                .secretName(prefix + "compute-admin-password")
                .description("Strata: password of the control plane's role on every compute (check-activity).")
                .generateSecretString(SecretStringGenerator.builder().passwordLength(40).excludePunctuation(true).build())
                .build();
        safekeeperToken = Secret.Builder.create(this, "SafekeeperToken")
                .secretName(prefix + "safekeeper-token")
                .description("Strata: the safekeeperdata token the safekeepers present to their peers (decision 0015)."
                        + " Created with a random placeholder, which the ServiceKeys custom resource replaces.")
                .build();
    }

    public Table table() { return table; }
    public Bucket history() { return history; }
    public Secret jwtSigningKey() { return jwtSigningKey; }
    public Secret jwtPublicKeys() { return jwtPublicKeys; }
    public Secret replicationPassword() { return replicationPassword; }
    public Secret computeAdminPassword() { return computeAdminPassword; }
    public Secret safekeeperToken() { return safekeeperToken; }
}
