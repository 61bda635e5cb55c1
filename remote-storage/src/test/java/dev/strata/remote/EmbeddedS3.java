package dev.strata.remote;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;

/**
 * A real S3-compatible server for tests: S3Proxy with its filesystem store under a directory
 * of the test, on a loopback port, with AWS v4 signatures and static credentials. One bucket is
 * created at the first start. {@link #stop()} and {@link #start()} again on the same port and
 * directory make an outage that the objects survive. Close it in the test (it is a Jetty server).
 */
public final class EmbeddedS3 implements AutoCloseable {

    public static final String ACCESS_KEY = "strata-test";
    public static final String SECRET_KEY = "strata-test-secret";
    public static final String BUCKET = "strata";

    private final Path dir;
    private int port;
    private S3Proxy proxy;

    private EmbeddedS3(Path dir) {
        this.dir = dir;
    }

    /** Starts a server storing its objects under {@code dir} (created) on a free loopback port. */
    public static EmbeddedS3 start(Path dir) throws Exception {
        Files.createDirectories(dir.resolve(BUCKET));
        EmbeddedS3 s = new EmbeddedS3(dir);
        s.start();
        return s;
    }

    /** (Re)starts on the same port (the first start picks a free one). */
    public synchronized void start() throws Exception {
        if (proxy != null) {
            return;
        }
        S3Proxy p = S3Proxy.builder()
                .blobStore(new FilesystemNio2BlobStore(dir.toString()))
                .endpoint(URI.create("http://127.0.0.1:" + port))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, ACCESS_KEY, SECRET_KEY)
                // Uploads are plain signed bodies (not aws-chunked); S3Proxy refuses those above its
                // default limit, which large layer files exceed. S3's own single-PUT limit: 5 GiB.
                .v4MaxNonChunkedRequestSize(5L << 30)
                .jettyMaxThreads(16)
                .stopTimeout(0) // no graceful stop: it waits for idle keep-alive connections and times out
                .build();
        p.start();
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!"STARTED".equals(p.getState())) {
            if (System.nanoTime() > deadline) {
                p.stop();
                throw new IllegalStateException("S3Proxy did not start within 30 s: " + p.getState());
            }
            Thread.sleep(10);
        }
        port = p.getPort();
        proxy = p;
    }

    /** Stops serving (connections are refused) and keeps the objects. */
    public synchronized void stop() throws Exception {
        if (proxy != null) {
            proxy.stop();
            proxy = null;
        }
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + port);
    }

    public Path directory() {
        return dir;
    }

    public S3Config config() {
        return S3Config.local(endpoint(), BUCKET, ACCESS_KEY, SECRET_KEY);
    }

    /** A client of the bucket with the given key prefix. */
    public S3Config config(String prefix) {
        S3Config c = config();
        return new S3Config(c.endpoint(), c.region(), c.bucket(), prefix, c.accessKey(), c.secretKey(), c.requestTimeout());
    }

    @Override
    public void close() throws Exception {
        stop();
    }
}
