package dev.strata.compute.agent;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.strata.compute.node.ComputeStartException;
import dev.strata.pgcore.auth.AuthException;
import dev.strata.pgcore.auth.BearerToken;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.auth.TokenVerifier;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.safekeeper.election.ElectionFailedException;
import dev.strata.safekeeper.election.TermRefusedException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.sql.SQLException;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent API over HTTP (JSON codecs in {@link AgentApi}). Every request needs a token of
 * scope {@code agentapi} (the control plane's steps); {@code GET /v1/status} also takes
 * {@code admin}. A bad request gets a clear error and changes nothing; the server keeps serving.
 *
 * <p>Status codes: 400 malformed, 401 no or invalid token, 403 wrong scope, 404 unknown path or
 * endpoint not running here, 405 wrong method, 409 {@code busy} (another endpoint runs here) or
 * {@code term_refused} (a stale or superseded term), 413 body over {@link AgentApi#MAX_BODY_BYTES},
 * 503 {@code start_failed} (the safekeepers or the pageserver did not answer in time: worth a
 * retry), 500 anything else.
 */
public final class AgentServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AgentServer.class);
    private static final Pattern ENDPOINT_PATH = Pattern.compile("/v1/endpoints/([^/]{1,128})/(compute|sessions)");
    private static final Set<Scope> CONTROL = Set.of(Scope.AGENT_API);
    private static final Set<Scope> READ = Set.of(Scope.AGENT_API, Scope.ADMIN);
    /** Handler threads: a start blocks one for seconds; status and sessions keep being served. */
    private static final int THREADS = 4;

    private final ComputeAgent agent;
    private final TokenVerifier verifier;
    private final HttpServer server;
    private final ExecutorService executor;

    private AgentServer(ComputeAgent agent, TokenVerifier verifier, HttpServer server, ExecutorService executor) {
        this.agent = agent;
        this.verifier = verifier;
        this.server = server;
        this.executor = executor;
    }

    /** Listens on {@code host:port} (port 0: any free port). */
    public static AgentServer start(ComputeAgent agent, TokenVerifier verifier, String host, int port) throws IOException {
        HttpServer http = HttpServer.create(new InetSocketAddress(host, port), 64);
        ExecutorService executor = Executors.newFixedThreadPool(THREADS,
                r -> Thread.ofPlatform().name("agent-api").daemon(true).unstarted(r));
        AgentServer s = new AgentServer(agent, verifier, http, executor);
        http.createContext("/", s::handle);
        http.setExecutor(executor);
        http.start();
        return s;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            try {
                route(ex);
            } catch (AgentApi.BadRequest e) {
                reply(ex, 400, AgentApi.error("bad_request", e.getMessage()));
            } catch (RuntimeException e) {
                log.warn("agent API {} {} failed", ex.getRequestMethod(), ex.getRequestURI().getPath(), e);
                reply(ex, 500, AgentApi.error("internal", e.getMessage()));
            }
        }
    }

    private void route(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        String method = ex.getRequestMethod();
        if (path.equals("/v1/status")) {
            if (!method.equals("GET")) {
                reply(ex, 405, AgentApi.error("method_not_allowed", method + " " + path + ": only GET"));
            } else if (authorized(ex, READ)) {
                reply(ex, 200, AgentApi.status(agent.status()));
            }
            return;
        }
        Matcher m = ENDPOINT_PATH.matcher(path);
        if (!m.matches()) {
            reply(ex, 404, AgentApi.error("not_found", "no such path: " + truncate(path)));
            return;
        }
        boolean compute = m.group(2).equals("compute");
        Set<String> allowed = compute ? Set.of("PUT", "DELETE") : Set.of("GET");
        if (!allowed.contains(method)) {
            reply(ex, 405, AgentApi.error("method_not_allowed", method + " " + truncate(path) + ": only " + allowed));
            return;
        }
        if (!authorized(ex, compute ? CONTROL : READ)) {
            return;
        }
        EndpointId endpoint = AgentApi.endpoint(m.group(1));
        switch (method) {
            case "PUT" -> {
                byte[] body = readBody(ex);
                if (body == null) {
                    return;
                }
                start(ex, AgentApi.parseStart(endpoint, body));
            }
            case "DELETE" -> reply(ex, 200, AgentApi.stopped(endpoint, agent.stop(endpoint)));
            default -> sessions(ex, endpoint);
        }
    }

    private void start(HttpExchange ex, StartOrder order) throws IOException {
        try {
            reply(ex, 200, AgentApi.running(agent.start(order)));
        } catch (AgentBusyException e) {
            reply(ex, 409, AgentApi.error("busy", e.getMessage()));
        } catch (TermRefusedException e) {
            reply(ex, 409, AgentApi.error("term_refused", e.getMessage()));
        } catch (ElectionFailedException | ComputeStartException e) {
            reply(ex, 503, AgentApi.error("start_failed", e.getMessage()));
        }
    }

    private void sessions(HttpExchange ex, EndpointId endpoint) throws IOException {
        try {
            reply(ex, 200, AgentApi.sessions(endpoint, agent.sessions(endpoint)));
        } catch (NoSuchElementException e) {
            reply(ex, 404, AgentApi.error("not_running", e.getMessage()));
        } catch (SQLException e) {
            reply(ex, 503, AgentApi.error("unavailable", "the compute did not answer: " + e.getMessage()));
        }
    }

    private boolean authorized(HttpExchange ex, Set<Scope> accepted) throws IOException {
        try {
            verifier.authorize(BearerToken.fromHeader(ex.getRequestHeaders().getFirst(BearerToken.HEADER)), accepted);
            return true;
        } catch (AuthException e) {
            boolean unauthenticated = e.reason().unauthenticated();
            if (unauthenticated) {
                ex.getResponseHeaders().set("WWW-Authenticate", "Bearer");
            }
            reply(ex, unauthenticated ? 401 : 403, AgentApi.error(unauthenticated ? "unauthorized" : "forbidden",
                    e.getMessage()));
            return false;
        }
    }

    /** The body, or null after replying 413 when it is larger than the limit. */
    private static byte[] readBody(HttpExchange ex) throws IOException {
        try (InputStream in = ex.getRequestBody()) {
            byte[] body = in.readNBytes(AgentApi.MAX_BODY_BYTES + 1);
            if (body.length > AgentApi.MAX_BODY_BYTES) {
                reply(ex, 413, AgentApi.error("too_large", "the body is larger than " + AgentApi.MAX_BODY_BYTES + " bytes"));
                return null;
            }
            return body;
        }
    }

    private static void reply(HttpExchange ex, int status, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }

    private static String truncate(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "…";
    }

    /** Stops listening (in-flight requests get a second), then the agent's compute is left to its owner. */
    @Override
    public void close() {
        server.stop(1);
        executor.shutdownNow();
        try {
            executor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
