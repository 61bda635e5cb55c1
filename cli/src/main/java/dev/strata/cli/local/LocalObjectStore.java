package dev.strata.cli.local;

import dev.strata.remote.S3Config;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;

/**
 * The local cluster's S3: S3Proxy with its filesystem store under {@code <data-dir>/s3/}, on a
 * loopback port, AWS v4 signatures with the cluster's own key and secret (kept in the cluster
 * state, mode 600). One bucket, {@value #BUCKET}: a directory of the store. The pageserver uploads
 * its history there (decision 0016), in this JVM or as a child process.
 */
final class LocalObjectStore implements AutoCloseable {

    static final String BUCKET = "strata";
    static final String ACCESS_KEY = "strata-local";

    private final S3Proxy proxy;
    private final int port;
    private final String secret;

    private LocalObjectStore(S3Proxy proxy, int port, String secret) {
        this.proxy = proxy;
        this.port = port;
        this.secret = secret;
    }

    /** Starts the server storing under {@code dir} on {@code port} (loopback only). */
    static LocalObjectStore start(Path dir, int port, String secret) {
        try {
            // Owner only: the compute's postgres user may enter the cluster directory, and the
            // history (layer files) holds everything, pg_authid included (decision 0013).
            PrivateFiles.createPrivateDirectory(dir);
            Files.createDirectories(dir.resolve(BUCKET));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the object store directory " + dir, e);
        }
        S3Proxy p = S3Proxy.builder()
                .blobStore(new FilesystemNio2BlobStore(dir.toString()))
                .endpoint(URI.create("http://127.0.0.1:" + port))
                .awsAuthentication(AuthenticationType.AWS_V4, ACCESS_KEY, secret)
                // Uploads are plain signed bodies (not aws-chunked); S3Proxy refuses those above its
                // default limit, which large layer files exceed. S3's own single-PUT limit: 5 GiB.
                .v4MaxNonChunkedRequestSize(5L << 30)
                .jettyMaxThreads(16)
                .stopTimeout(0) // a graceful stop waits for idle keep-alive connections and then fails
                .build();
        try {
            p.start();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!"STARTED".equals(p.getState())) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the object store did not start within 30 s: " + p.getState());
                }
                Thread.sleep(5);
            }
        } catch (Exception e) {
            try {
                p.stop();
            } catch (Exception ignored) {
                // stopping what did not start
            }
            throw new IllegalStateException("cannot start the local object store on 127.0.0.1:" + port + ": " + e, e);
        }
        return new LocalObjectStore(p, p.getPort(), secret);
    }

    int port() {
        return port;
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + port);
    }

    /** What a pageserver needs to reach it (the secret included: hand it over in memory or the environment). */
    S3Config config() {
        return S3Config.local(endpoint(), BUCKET, ACCESS_KEY, secret);
    }

    @Override
    public void close() {
        try {
            proxy.stop();
        } catch (Exception e) {
            throw new IllegalStateException("cannot stop the local object store: " + e, e);
        }
    }
}
