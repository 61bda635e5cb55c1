package dev.strata.control.metadata;

import java.time.Duration;
import java.util.Objects;
import java.util.regex.Pattern;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeDefinition;
import software.amazon.awssdk.services.dynamodb.model.BillingMode;
import software.amazon.awssdk.services.dynamodb.model.GlobalSecondaryIndex;
import software.amazon.awssdk.services.dynamodb.model.KeySchemaElement;
import software.amazon.awssdk.services.dynamodb.model.KeyType;
import software.amazon.awssdk.services.dynamodb.model.Projection;
import software.amazon.awssdk.services.dynamodb.model.ProjectionType;
import software.amazon.awssdk.services.dynamodb.model.ResourceInUseException;
import software.amazon.awssdk.services.dynamodb.model.ResourceNotFoundException;
import software.amazon.awssdk.services.dynamodb.model.ScalarAttributeType;
import software.amazon.awssdk.services.dynamodb.model.TableStatus;

/**
 * The one table the control plane's metadata lives in (single-table design, docs/control-plane.md):
 * key {@code pk}/{@code sk}, one global secondary index {@code gsi1} on {@code gsi1pk}/{@code gsi1sk}
 * for the listings. The AWS deployment creates it with CDK (MetadataTables); the local cluster and
 * the tests create it here, idempotently.
 */
public final class MetadataTable {

    public static final String DEFAULT_NAME = "strata-metadata";
    public static final String PK = "pk";
    public static final String SK = "sk";
    public static final String GSI1 = "gsi1";
    public static final String GSI1_PK = "gsi1pk";
    public static final String GSI1_SK = "gsi1sk";

    /** DynamoDB's table-name rule (dynalite also wants at least 3 characters). */
    private static final Pattern TABLE_NAME = Pattern.compile("[A-Za-z0-9_.-]{3,255}");
    private static final Duration ACTIVE_TIMEOUT = Duration.ofSeconds(60);

    private MetadataTable() {
    }

    static String checkName(String name) {
        Objects.requireNonNull(name, "table name is null");
        if (!TABLE_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("a DynamoDB table name is 3 to 255 of A-Z a-z 0-9 _ . -, got '" + name + "'");
        }
        return name;
    }

    /**
     * Creates the table unless it exists, then waits until it is ACTIVE. Safe to call from
     * several processes at once: a concurrent creation is not an error.
     */
    public static void createIfMissing(DynamoDbClient client, String name) {
        checkName(name);
        try {
            if (!exists(client, name)) {
                try {
                    client.createTable(b -> b.tableName(name)
                            .billingMode(BillingMode.PAY_PER_REQUEST)
                            .attributeDefinitions(
                                    attr(PK), attr(SK), attr(GSI1_PK), attr(GSI1_SK))
                            .keySchema(key(PK, KeyType.HASH), key(SK, KeyType.RANGE))
                            .globalSecondaryIndexes(GlobalSecondaryIndex.builder().indexName(GSI1)
                                    .keySchema(key(GSI1_PK, KeyType.HASH), key(GSI1_SK, KeyType.RANGE))
                                    .projection(Projection.builder().projectionType(ProjectionType.ALL).build())
                                    .build()));
                } catch (ResourceInUseException raced) {
                    // another process created it first: fine, wait for it below
                }
            }
            awaitActive(client, name);
        } catch (SdkException e) {
            throw new MetadataException.Unavailable("could not create or describe table " + name + ": " + e.getMessage(), e);
        }
    }

    private static boolean exists(DynamoDbClient client, String name) {
        try {
            client.describeTable(b -> b.tableName(name));
            return true;
        } catch (ResourceNotFoundException e) {
            return false;
        }
    }

    private static void awaitActive(DynamoDbClient client, String name) {
        long deadline = System.nanoTime() + ACTIVE_TIMEOUT.toNanos();
        while (true) {
            var table = client.describeTable(b -> b.tableName(name)).table();
            TableStatus status = table.tableStatus();
            boolean indexesActive = table.globalSecondaryIndexes().stream().allMatch(i -> i.indexStatusAsString() == null || "ACTIVE".equals(i.indexStatusAsString()));
            if (status == TableStatus.ACTIVE && indexesActive) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new MetadataException.Unavailable("table " + name + " is still " + status + " after "
                        + ACTIVE_TIMEOUT.toSeconds() + " s", null);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new MetadataException.Unavailable("interrupted while waiting for table " + name, e);
            }
        }
    }

    private static AttributeDefinition attr(String name) {
        return AttributeDefinition.builder().attributeName(name).attributeType(ScalarAttributeType.S).build();
    }

    private static KeySchemaElement key(String name, KeyType type) {
        return KeySchemaElement.builder().attributeName(name).keyType(type).build();
    }
}
