package dev.strata.cli.local;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.strata.pgcore.auth.AuthException;
import dev.strata.pgcore.auth.BearerToken;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.auth.TokenVerifier;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The running cluster's loopback admin port, for {@code strata status}, {@code strata down} and
 * the branch commands from another shell: {@code GET /status} (plain text), {@code POST /down},
 * and everything under {@code /branches} handed to a {@link Routes} ({@link BranchAdmin}).
 * Anything else is a 404/405 with a one-line reason.
 *
 * <p>Every request must carry the operator's token ({@code Authorization: Bearer}, scope
 * {@code admin}; `strata up` writes it to {@code auth/admin.token}, mode 600): without it a
 * 401, with a token of another scope a 403, and nothing happens. Loopback alone would keep out
 * other machines but not other users of this one.
 */
public final class AdminServer implements AutoCloseable {

    private final HttpServer server;

    private static final Set<Scope> ACCEPTED = Set.of(Scope.ADMIN);

    /** A plain-text answer: status code and body. */
    public record Reply(int status, String body) {
    }

    /** Handles the requests under one path prefix; the path arrives split, the query decoded. */
    @FunctionalInterface
    public interface Routes {
        Reply handle(String method, List<String> path, Map<String, String> query);
    }

    public AdminServer(TokenVerifier verifier, Supplier<String> status, Runnable down) throws IOException {
        this(verifier, status, down, null);
    }

    /** @param branches what answers under {@code /branches} (null: nothing does) */
    public AdminServer(TokenVerifier verifier, Supplier<String> status, Runnable down, Routes branches)
            throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", ex -> {
            try (ex) {
                try {
                    verifier.authorize(BearerToken.fromHeader(ex.getRequestHeaders().getFirst(BearerToken.HEADER)),
                            ACCEPTED);
                } catch (AuthException e) {
                    if (e.reason().unauthenticated()) {
                        ex.getResponseHeaders().set("WWW-Authenticate", "Bearer");
                    }
                    reply(ex, e.reason().unauthenticated() ? 401 : 403, e.getMessage() + "\n");
                    return;
                }
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
                } else if (branches != null && (path.equals("/branches") || path.startsWith("/branches/"))) {
                    Reply r;
                    try {
                        List<String> segments = new ArrayList<>();
                        for (String seg : ex.getRequestURI().getRawPath().substring(1).split("/")) {
                            segments.add(URLDecoder.decode(seg, StandardCharsets.UTF_8));
                        }
                        r = branches.handle(method, segments, query(ex.getRequestURI().getRawQuery()));
                    } catch (IllegalArgumentException e) {
                        r = new Reply(400, e.getMessage() + "\n");
                    } catch (RuntimeException e) {
                        r = new Reply(500, "failed: " + e.getMessage() + "\n");
                    }
                    reply(ex, r.status(), r.body());
                } else {
                    reply(ex, 404, "unknown path " + path + " (try GET /status or POST /down)\n");
                }
            } catch (RuntimeException e) {
                // one bad request never stops the admin port
            }
        });
        server.start();
    }

    /** The decoded query parameters; a repeated name keeps its last value. */
    static Map<String, String> query(String raw) {
        Map<String, String> out = new HashMap<>();
        if (raw == null || raw.isEmpty()) {
            return out;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            out.put(k, v);
        }
        return out;
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
