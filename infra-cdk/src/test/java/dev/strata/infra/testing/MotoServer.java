package dev.strata.infra.testing;

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
import software.amazon.awssdk.services.cloudformation.CloudFormationClient;

/**
 * moto's server ({@code moto_server}, Python; toolchain.md) on loopback, for deploying the
 * synthesized template to its CloudFormation. In memory only; stopped by {@link #close()}. The
 * functions module has its own launcher for its DynamoDB tests (a test class of another module is
 * not on this classpath); this one waits on CloudFormation instead.
 */
public final class MotoServer implements AutoCloseable {

    public static final String ACCOUNT = "123456789012";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(120); // generous: it imports much of moto, slow on a loaded 2-core machine

    private final Process process;
    private final URI endpoint;
    private final Region region;

    private MotoServer(Process process, URI endpoint, Region region) {
        this.process = process;
        this.endpoint = endpoint;
        this.region = region;
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

    public static MotoServer start(Path logFile, Region region) throws IOException {
        Path exe = executable().orElseThrow(() -> new IllegalStateException("moto_server is not on the PATH"));
        int port = LoopbackPorts.pickTcp();
        Process p = new ProcessBuilder(List.of(exe.toString(), "-H", "127.0.0.1", "-p", Integer.toString(port)))
                .redirectErrorStream(true).redirectOutput(logFile.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        MotoServer moto = new MotoServer(p, URI.create("http://127.0.0.1:" + port), region);
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        try (CloudFormationClient cf = moto.client(CloudFormationClient.builder())) {
            while (true) {
                if (!p.isAlive()) {
                    moto.close();
                    throw new IllegalStateException("moto_server exited with " + p.exitValue() + ": "
                            + Files.readString(logFile));
                }
                try {
                    cf.listStacks();
                    return moto;
                } catch (SdkException notYet) {
                    if (System.nanoTime() > deadline) {
                        moto.close();
                        throw new IllegalStateException("moto_server did not answer within "
                                + START_TIMEOUT.toSeconds() + " s", notYet);
                    }
                }
                Thread.sleep(100);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            moto.close();
            throw new IOException("interrupted while waiting for moto_server", e);
        }
    }

    /** A client of any service against this server (dummy credentials; the caller closes it). */
    public <B extends AwsClientBuilder<B, C>, C> C client(B builder) {
        return builder.endpointOverride(endpoint).region(region)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("moto", "moto")))
                .build();
    }

    public Region region() {
        return region;
    }

    @Override
    public void close() {
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
