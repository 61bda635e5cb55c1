package dev.strata.remote;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A FAULT INJECTOR on real sockets: a loopback TCP relay in front of a real S3 server that
 * forwards bytes both ways, except that once {@link #cutAfter} is armed, the next connection
 * whose client sends more than that many bytes is closed (both ways) mid-request: a connection
 * cut in the middle of an upload, as a network failure or a proxy restart would.
 */
final class CuttingRelay implements AutoCloseable {

    private final ServerSocket server;
    private final int targetPort;
    private final AtomicLong cutAfter = new AtomicLong(-1);
    final AtomicInteger cuts = new AtomicInteger();
    private volatile boolean closed;

    CuttingRelay(int targetPort) throws IOException {
        this.targetPort = targetPort;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofPlatform().daemon().name("relay-accept").start(this::accept);
    }

    int port() {
        return server.getLocalPort();
    }

    /** The next connection sending more than {@code bytes} request bytes is cut there (once). */
    void cutAfter(long bytes) {
        cutAfter.set(bytes);
    }

    private void accept() {
        while (!closed) {
            try {
                Socket client = server.accept();
                Socket upstream = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                Thread.ofPlatform().daemon().start(() -> pump(client, upstream, true));
                Thread.ofPlatform().daemon().start(() -> pump(upstream, client, false));
            } catch (IOException e) {
                if (!closed) {
                    continue;
                }
                return;
            }
        }
    }

    private void pump(Socket from, Socket to, boolean request) {
        byte[] buf = new byte[16 << 10];
        long sent = 0;
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            for (int n; (n = in.read(buf)) > 0; ) {
                long limit = request ? cutAfter.get() : -1;
                if (limit >= 0 && sent + n > limit && cutAfter.compareAndSet(limit, -1)) {
                    out.write(buf, 0, (int) Math.max(0, limit - sent));
                    out.flush();
                    cuts.incrementAndGet();
                    from.close();
                    to.close();
                    return;
                }
                out.write(buf, 0, n);
                out.flush();
                sent += n;
            }
        } catch (IOException e) {
            // the other direction closed: done
        } finally {
            try {
                from.close();
                to.close();
            } catch (IOException e) {
                // closing
            }
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
    }
}
