package dev.strata.compute.pageserver;

import dev.strata.compute.node.ComputeStartException;
import dev.strata.pageserver.basebackup.BasebackupBase;
import dev.strata.pageserver.client.PageserverClient;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@link PageserverAccess} over the pageserver's page service, presenting the compute token of
 * the timeline: what a compute agent uses wherever the pageserver runs (another process, another
 * host).
 */
public final class PageServiceAccess implements PageserverAccess {

    private final String host;
    private final int port;
    private final String token;

    public PageServiceAccess(String host, int port, String token) {
        this.host = Objects.requireNonNull(host, "host is null");
        if (port <= 0 || port > 65535) {
            throw new IllegalArgumentException("page service port " + port + " is not a TCP port");
        }
        this.port = port;
        this.token = Objects.requireNonNull(token, "token is null");
    }

    @Override
    public void awaitLsn(TimelineId timeline, Lsn lsn, Duration timeout) {
        try (PageserverClient c = new PageserverClient(host, port, token)) {
            c.waitForLsn(timeline, lsn, timeout);
        } catch (RuntimeException e) {
            throw new ComputeStartException("timeline " + timeline + ": the pageserver at " + host + ":" + port
                    + " did not reach the epoch start " + lsn + ": " + e.getMessage(), e);
        }
    }

    /**
     * The basebackup as a stream, read on a virtual thread into a pipe; a failure of the page
     * service surfaces as an {@link IOException} at the end of the stream, never as a short tar.
     */
    @Override
    public InputStream basebackup(TimelineId timeline, Lsn lsn, BasebackupBase base) {
        PipedInputStream in = new PipedInputStream(1 << 20);
        PipedOutputStream out;
        try {
            out = new PipedOutputStream(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread.ofVirtual().name("basebackup-" + timeline).start(() -> {
            // The failure must be recorded before `out` closes: the reader takes the close as the
            // end and asks for a failure only then (a try-with-resources closes before its catch
            // runs, which once let a refused basebackup read as an empty tar).
            try (out) {
                try (PageserverClient client = new PageserverClient(host, port, token)) {
                    client.basebackup(timeline, lsn, base, out);
                } catch (Throwable t) {
                    failure.set(t);
                }
            } catch (IOException e) {
                failure.compareAndSet(null, e);
            }
        });
        return new FilterInputStream(in) {
            @Override
            public int read() throws IOException {
                int b = super.read();
                return b < 0 ? endOrFailure() : b;
            }

            @Override
            public int read(byte[] buf, int off, int len) throws IOException {
                int n = super.read(buf, off, len);
                return n < 0 ? endOrFailure() : n;
            }

            private int endOrFailure() throws IOException {
                Throwable t = failure.get();
                if (t != null) {
                    throw new IOException("basebackup of timeline " + timeline + " at " + lsn + " failed: "
                            + t.getMessage(), t);
                }
                return -1;
            }
        };
    }
}
