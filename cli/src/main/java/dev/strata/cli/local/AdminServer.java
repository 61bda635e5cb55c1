package dev.strata.cli.local;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The running cluster's loopback admin port, for {@code strata status} and {@code strata down}
 * from another shell: {@code GET /status} (plain text) and {@code POST /down}. Anything else
 * is a 404/405 with a one-line reason.
 */
public final class AdminServer implements AutoCloseable {

    private final HttpServer server;

    public AdminServer(Supplier<String> status, Runnable down) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", ex -> {
            try (ex) {
                String path = ex.getRequestURI().getPath();
                String method = ex.getRequestMethod();
                if (path.equals("/status")) {
                    if (!method.equals("GET")) {
                        reply(ex, 405, "use GET /status\n");
                    } else {
                        reply(ex, 200, status.get());
                    }
                } else if (path.equals("/down")) {
                    if (!method.equals("POST")) {
                        reply(ex, 405, "use POST /down\n");
                    } else {
                        reply(ex, 202, "stopping\n");
                        Thread.ofPlatform().name("strata-down").start(down);
                    }
                } else {
                    reply(ex, 404, "unknown path " + path + " (try GET /status or POST /down)\n");
                }
            } catch (RuntimeException e) {
                // one bad request never stops the admin port
            }
        });
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private static void reply(HttpExchange ex, int code, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        ex.sendResponseHeaders(code, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
