package dev.strata.control.metadata;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.strata.control.testing.MotoServer;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;

/**
 * The metadata store's contract on moto's server, a second implementation (it has transactions;
 * the store must not need them). Skipped, with the reason shown, where {@code moto_server} is
 * not on the PATH.
 */
class MotoMetadataStoreTest extends MetadataStoreContract {

    @TempDir
    static Path dir;
    private static MotoServer moto;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(MotoServer.executable().isPresent(),
                "moto_server is not on the PATH: the contract ran on dynalite only (pip install 'moto[server]' to run it here)");
        moto = MotoServer.start(dir.resolve("moto.log"));
    }

    @AfterAll
    static void stop() {
        if (moto != null) {
            moto.close();
        }
    }

    @Override
    DynamoDbClient client() {
        return moto.client();
    }
}
