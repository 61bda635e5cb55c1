package dev.strata.control.metadata;

import dev.strata.control.local.LocalDynamo;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;

/** The metadata store's contract on dynalite, the engine {@code strata up} runs (always run). */
class DynaliteMetadataStoreTest extends MetadataStoreContract {

    @TempDir
    static Path dir;
    private static LocalDynamo dynamo;

    @BeforeAll
    static void start() {
        dynamo = LocalDynamo.start(dir);
    }

    @AfterAll
    static void stop() {
        if (dynamo != null) {
            dynamo.close();
        }
    }

    @Override
    DynamoDbClient client() {
        return dynamo.client();
    }
}
