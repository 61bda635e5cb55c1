package dev.strata.statemachines;

import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The loopback HTTP endpoint the engine's task states call: {@code POST /invoke} with
 * {@code Authorization: Bearer <secret>} and {@code {"executionId","state","resource","payload"}}.
 * It finds the execution's {@link LambdaHandlers}, the function named by the resource ARN (whatever its
 * qualifier: {@code function:strata-elect:live}, {@code :7} and unqualified all route to
 * {@code strata-elect}, as there is one local version of each handler), runs the handler and answers {@code 200 {"payload": ...}}; a handler exception answers
 * {@code 500 {"errorType": <class name>, "errorMessage": ...}}, which the driver turns into the task's
 * error. Refusals name what was wrong: 401 (no or wrong secret), 400 (not JSON, missing field, not a
 * Lambda ARN), 404 (unknown execution or function), 405, 413 (over {@link #MAX_REQUEST_BYTES}).
 *
 * <p>Bound to 127.0.0.1 only; the secret is random per {@link LocalStepFunctions} and travels to the
 * driver in its environment, so another local user cannot make the control plane run steps.
 */
final class TaskEndpoint implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(TaskEndpoint.class);

    /** Step Functions' payload limit is 256 KiB; the envelope and escaping get the same again. */
    static final int MAX_REQUEST_BYTES = 512 * 1024;
    /** How much of an oversized request is read and dropped before answering 413; the rest closes the connection. */
    private static final long MAX_DRAIN_BYTES = 16L * 1024 * 1024;
    /** Handlers running at once; more calls queue (a workflow runs one task at a time). */
    private static final int HANDLER_THREADS = 16;
    private static final Pattern LAMBDA_ARN =
            Pattern.compile("arn:aws[a-z-]*:lambda:[a-z0-9-]+:\\d{12}:function:([A-Za-z0-9_-]{1,64})(:[A-Za-z0-9$_-]+)?");
    static final String PATH = "/invoke";

    private final ObjectMapper json;
    private final byte[] secret;
    private final Map<String, LambdaHandlers> executions = new ConcurrentHashMap<>();
    private final HttpServer server;
    private final ExecutorService handlers;

    TaskEndpoint(ObjectMapper json, String secret) throws IOException {
        this.json = json;
        this.secret = ("Bearer " + secret).getBytes(StandardCharsets.US_ASCII);
        AtomicInteger n = new AtomicInteger();
        this.handlers = new ThreadPoolExecutor(HANDLER_THREADS, HANDLER_THREADS, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "local-lambda-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        ((ThreadPoolExecutor) handlers).allowCoreThreadTimeOut(true);
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        server.createContext("/", this::handle);
        server.setExecutor(handlers);
        server.start();
    }

    URI uri() {
        return URI.create("http://" + server.getAddress().getAddress().getHostAddress() + ":"
                + server.getAddress().getPort() + PATH);
    }

    void register(String executionId, LambdaHandlers handlers) {
        executions.put(executionId, handlers);
    }

    void unregister(String executionId) {
        executions.remove(executionId);
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            if (!ex.getRequestURI().getPath().equals(PATH)) {
                refuse(ex, 404, "Strata.NotFound", "no such path: " + ex.getRequestURI().getPath());
                return;
            }
            if (!ex.getRequestMethod().equals("POST")) {
                refuse(ex, 405, "Strata.MethodNotAllowed", "only POST " + PATH);
                return;
            }
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            if (auth == null || !MessageDigest.isEqual(auth.getBytes(StandardCharsets.US_ASCII), secret)) {
                refuse(ex, 401, "Strata.Unauthorized", "missing or wrong bearer secret");
                return;
            }
            byte[] body = readBounded(ex.getRequestBody());
            if (body == null) {
                drain(ex.getRequestBody());
                refuse(ex, 413, "Strata.PayloadTooLarge", "request over " + MAX_REQUEST_BYTES + " bytes");
                return;
            }
            JsonNode req;
            try {
                req = json.readTree(body);
            } catch (IOException e) {
                refuse(ex, 400, "Strata.InvalidRequest", "request is not JSON: " + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
                return;
            }
            if (req == null || !req.isObject() || !req.path("executionId").isTextual()
                    || !req.path("resource").isTextual() || !req.has("payload")) {
                refuse(ex, 400, "Strata.InvalidRequest",
                        "request needs executionId and resource (strings) and payload");
                return;
            }
            invoke(ex, req);
        } catch (IOException | RuntimeException e) {
            log.warn("local task endpoint: request failed: {}", e.toString());
        }
    }

    private void invoke(HttpExchange ex, JsonNode req) throws IOException {
        String executionId = req.get("executionId").asText();
        String resource = req.get("resource").asText();
        LambdaHandlers registry = executions.get(executionId);
        if (registry == null) {
            refuse(ex, 404, "Strata.UnknownExecution", "no running execution " + executionId);
            return;
        }
        Matcher m = LAMBDA_ARN.matcher(resource);
        if (!m.matches()) {
            refuse(ex, 400, "Strata.InvalidRequest", "resource is not a Lambda function ARN: " + resource);
            return;
        }
        String function = m.group(1);
        LambdaHandlers.Registered<?> target = registry.find(function).orElse(null);
        if (target == null) {
            refuse(ex, 404, "Lambda.ResourceNotFoundException", "Function not found: " + resource
                    + " (no local handler registered as '" + function + "')");
            return;
        }
        long timeoutMs = req.path("timeoutSeconds").asLong(60) * 1000;
        LocalLambdaContext ctx = new LocalLambdaContext(function, resource, timeoutMs);
        Object output;
        long started = System.nanoTime();
        try {
            output = call(target, req.get("payload"), ctx);
        } catch (InputMismatch e) {
            refuse(ex, 500, IllegalArgumentException.class.getName(), e.getMessage());
            return;
        } catch (RuntimeException | Error e) {
            // As the Lambda Java runtime reports it: errorType is the exception's class name.
            log.info("local lambda {} (execution {}, state {}) threw {}", function, executionId,
                    req.path("state").asText(), e.toString());
            refuse(ex, 500, e.getClass().getName(), String.valueOf(e.getMessage()));
            return;
        }
        // What Lambda's REPORT line says on AWS: which function, for which state, how long.
        log.info("local lambda {} (execution {}, state {}) answered in {} ms", function, executionId,
                req.path("state").asText(), (System.nanoTime() - started) / 1_000_000);
        ObjectNode answer = json.createObjectNode();
        answer.set("payload", json.valueToTree(output));
        reply(ex, 200, answer);
    }

    private <I> Object call(LambdaHandlers.Registered<I> target, JsonNode payload, LocalLambdaContext ctx) {
        I input;
        try {
            input = json.convertValue(payload, target.inputType());
        } catch (IllegalArgumentException e) {
            throw new InputMismatch("cannot read the payload of " + target.functionName() + " as "
                    + target.inputType().getSimpleName() + ": " + e.getMessage());
        }
        RequestHandler<I, ?> handler = target.handler();
        return handler.handleRequest(input, ctx);
    }

    private static final class InputMismatch extends RuntimeException {
        InputMismatch(String message) {
            super(message);
        }
    }

    /**
     * Reads (and drops) what is left of an oversized body, up to {@link #MAX_DRAIN_BYTES}, so the client
     * has finished sending when the 413 arrives instead of seeing its connection reset mid-write.
     */
    private static void drain(InputStream in) throws IOException {
        long left = MAX_DRAIN_BYTES;
        byte[] buf = new byte[64 * 1024];
        int n;
        while (left > 0 && (n = in.read(buf, 0, (int) Math.min(buf.length, left))) > 0) {
            left -= n;
        }
    }

    private static byte[] readBounded(InputStream in) throws IOException {
        byte[] data = in.readNBytes(MAX_REQUEST_BYTES + 1);
        return data.length > MAX_REQUEST_BYTES ? null : data;
    }

    private void refuse(HttpExchange ex, int status, String errorType, String message) throws IOException {
        ObjectNode body = json.createObjectNode();
        body.put("errorType", errorType);
        body.put("errorMessage", message);
        reply(ex, status, body);
    }

    private void reply(HttpExchange ex, int status, JsonNode body) throws IOException {
        byte[] bytes = json.writeValueAsBytes(body);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        handlers.shutdownNow();
    }
}
