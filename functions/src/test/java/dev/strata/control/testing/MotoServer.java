package dev.strata.control.testing;

import dev.strata.control.metadata.DynamoClients;
import dev.strata.pgcore.net.LoopbackPorts;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.client.builder.AwsClientBuilder;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;

/**
 * moto's server ({@code moto_server}, Python) on loopback, in memory only (toolchain.md): a second,
 * independent DynamoDB implementation for the metadata store's contract tests, and the
 * CloudFormation that infra-cdk deploys its synthesized template to (through this module's
 * test-jar). It is installed on the project's machines but cannot be installed from here
 * elsewhere, so tests that need it are skipped where it is not on the PATH.
 */
public final class MotoServer implements AutoCloseable {

    /** The account id moto gives every resource it creates (its default). */
    public static final String ACCOUNT = "123456789012";
    /** Generous: moto imports much of itself before it listens, slow on a loaded 2-core machine. */
    private static final Duration START_TIMEOUT = Duration.ofSeconds(120);

    private final Process process;
    private final URI endpoint;
    private final DynamoDbClient client;

    private MotoServer(Process process, URI endpoint) {
        this.process = process;
        this.endpoint = endpoint;
        this.client = DynamoClients.local(endpoint);
    }

    /** Where it listens: every service moto speaks (DynamoDB, Step Functions, ...) is on this one endpoint. */
    public URI endpoint() {
        return endpoint;
    }

    /** The {@code moto_server} executable on the PATH, if any. */
    public static Optional<Path> executable() {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(File.pathSeparator)) {
            Path candidate = Path.of(dir, "moto_server");
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /**
     * Starts a server logging to {@code dir/moto.log}, or skips the calling test class (an assumption,
     * reported with the reason) where {@code moto_server} is not installed: {@code notRun} says what
     * was then not run.
     */
    public static MotoServer startOrSkip(Path dir, String notRun) throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(executable().isPresent(), "moto_server is not on the PATH: "
                + notRun + " was not run (pip install 'moto[server]' to run it here)");
        return start(dir.resolve("moto.log"));
    }

    public static MotoServer start(Path logFile) throws IOException {
        Path exe = executable().orElseThrow(() -> new IllegalStateException("moto_server is not on the PATH"));
        int port = LoopbackPorts.pickTcp();
        Process p = new ProcessBuilder(List.of(exe.toString(), "-H", "127.0.0.1", "-p", Integer.toString(port)))
                .redirectErrorStream(true).redirectOutput(logFile.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        MotoServer moto = new MotoServer(p, URI.create("http://127.0.0.1:" + port));
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (true) {
            if (!p.isAlive()) {
                moto.close();
                throw new IllegalStateException("moto_server exited with " + p.exitValue() + ": " + Files.readString(logFile));
            }
            try {
                moto.client.listTables(b -> b.limit(1));
                return moto;
            } catch (SdkException notYet) {
                if (System.nanoTime() > deadline) {
                    moto.close();
                    throw new IllegalStateException("moto_server did not answer within " + START_TIMEOUT.toSeconds() + " s", notYet);
                }
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                moto.close();
                throw new IOException("interrupted while waiting for moto_server", e);
            }
        }
    }

    /** A DynamoDB client of this server (closed with it). */
    public DynamoDbClient client() {
        return client;
    }

    /** A client of any service of this server in {@code region} (dummy credentials; the caller closes it). */
    public <B extends AwsClientBuilder<B, C>, C> C client(B builder, Region region) {
        return builder.endpointOverride(endpoint).region(region)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("moto", "moto")))
                .build();
    }

    @Override
    public void close() {
        client.close();
        List<ProcessHandle> children = process.descendants().toList();
        process.destroy();
        children.forEach(ProcessHandle::destroy);
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(20, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        children.forEach(ProcessHandle::destroyForcibly);
    }
}
