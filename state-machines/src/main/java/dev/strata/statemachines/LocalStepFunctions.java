package dev.strata.statemachines;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.pgcore.tools.NodeTools;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs ASL definitions on the npm engine aws-local-stepfunctions, with every Lambda task state routed to
 * a Java {@code RequestHandler}: the local counterpart of Step Functions + Lambda, so {@code strata up}
 * and the AWS deployment run the same definitions and the same handlers.
 *
 * <p>One Node 22 child process ({@code sfn-driver.cjs}, committed next to the workflows, using the
 * package as a library) serves every execution of this instance: requests go down its stdin and results
 * come back on its stdout, one strict JSON line each. Its task states call {@link TaskEndpoint}, an HTTP
 * endpoint on 127.0.0.1 guarded by a random per-instance secret, which runs the handlers registered for
 * that execution in {@link LambdaHandlers}. Why a long-lived driver rather than the package's
 * {@code local-sfn} CLI per execution: the CLI prints results for people (not strict JSON) and costs a
 * Node start (~0.3 s here) per execution; the driver starts once and answers in JSON.
 *
 * <p>Every wait is bounded ({@link #READY_TIMEOUT}, the caller's execution timeout after which the
 * execution is aborted), and {@link #close()} always stops the child. If the child dies, pending and
 * later executions fail with an {@link IllegalStateException} that carries the tail of its stderr.
 */
public final class LocalStepFunctions implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LocalStepFunctions.class);

    /** How long the driver may take to load the engine and say it is ready. */
    public static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    /** How long an aborted execution may take to report that it stopped. */
    private static final Duration ABORT_GRACE = Duration.ofSeconds(5);
    private static final Duration STOP_GRACE = Duration.ofSeconds(5);
    private static final String DRIVER = "sfn-driver.cjs";
    private static final int STDERR_TAIL_LINES = 20;

    private final ObjectMapper json = new ObjectMapper();
    private final Path workDir;
    private final TaskEndpoint tasks;
    private final String secret;
    private final Process process;
    private final OutputStream stdin;
    private final Map<String, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
    private final List<String> stderrTail = new ArrayList<>();
    private final AtomicLong rejectedLines = new AtomicLong();
    private final CompletableFuture<String> ready = new CompletableFuture<>();
    private volatile boolean closed;

    private LocalStepFunctions(Path workDir, TaskEndpoint tasks, String secret, Process process) {
        this.workDir = workDir;
        this.tasks = tasks;
        this.secret = secret;
        this.process = process;
        this.stdin = process.getOutputStream();
    }

    /** Starts the engine (installing the npm tools first on a fresh machine) and waits until it is ready. */
    public static LocalStepFunctions start() {
        NodeTools tools = NodeTools.get();
        Path engine = tools.home().resolve("node_modules/aws-local-stepfunctions");
        if (!Files.isDirectory(engine)) {
            throw new IllegalStateException("aws-local-stepfunctions is not among the npm tools in " + tools.home());
        }
        Path workDir = null;
        TaskEndpoint tasks = null;
        Process process = null;
        try {
            workDir = Files.createTempDirectory("strata-sfn-");
            Path driver = workDir.resolve(DRIVER);
            try (InputStream in = LocalStepFunctions.class.getResourceAsStream(DRIVER)) {
                Files.write(driver, Objects.requireNonNull(in, "missing resource " + DRIVER).readAllBytes());
            }
            byte[] secretBytes = new byte[32];
            new SecureRandom().nextBytes(secretBytes);
            String secret = HexFormat.of().formatHex(secretBytes);
            ObjectMapper mapper = new ObjectMapper();
            tasks = new TaskEndpoint(mapper, secret);
            ProcessBuilder pb = new ProcessBuilder(tools.node().toString(), driver.toString()).directory(workDir.toFile());
            pb.environment().put("STRATA_SFN_ENGINE", engine.toString());
            pb.environment().put("STRATA_TASK_URL", tasks.uri().toString());
            pb.environment().put("STRATA_TASK_SECRET", secret);
            process = pb.start();
            LocalStepFunctions sfn = new LocalStepFunctions(workDir, tasks, secret, process);
            sfn.startReaders();
            sfn.awaitReady();
            return sfn;
        } catch (IOException | RuntimeException e) {
            if (process != null) {
                process.destroyForcibly();
            }
            if (tasks != null) {
                tasks.close();
            }
            deleteTree(workDir);
            if (e instanceof IOException io) {
                throw new UncheckedIOException("could not start the local Step Functions engine", io);
            }
            throw (RuntimeException) e;
        }
    }

    private void startReaders() {
        Thread out = new Thread(this::readStdout, "local-sfn-stdout");
        out.setDaemon(true);
        out.start();
        Thread err = new Thread(this::readStderr, "local-sfn-stderr");
        err.setDaemon(true);
        err.start();
    }

    private void awaitReady() {
        try {
            String engine = ready.get(READY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            log.info("local Step Functions engine ready: aws-local-stepfunctions {}, tasks at {}", engine, tasks.uri());
        } catch (TimeoutException e) {
            throw new IllegalStateException("the local Step Functions engine was not ready within " + READY_TIMEOUT
                    + "; stderr: " + stderrTail());
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting the local Step Functions engine", e);
        }
    }

    /**
     * Validates a definition and keeps it ready, so that its first execution does not pay the
     * validation (0.3-1 s: the engine re-runs asl-validator for each new definition). {@code strata up}
     * prepares every workflow at start, before the first wake.
     *
     * @throws IllegalArgumentException if the definition is not JSON or the engine refuses it (the
     *         message carries the validator's reasons)
     */
    public void prepare(String definitionJson) {
        JsonNode definition = parse("definition", definitionJson);
        String id = "prepare-" + UUID.randomUUID();
        ObjectNode req = json.createObjectNode();
        req.put("prepare", id);
        req.set("definition", definition);
        CompletableFuture<JsonNode> answer = new CompletableFuture<>();
        pending.put(id, answer);
        try {
            send(req);
            JsonNode r = answer.get(READY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            if (!r.path("status").asText().equals("PREPARED")) {
                throw new IllegalArgumentException("the engine refused the definition: " + r.path("cause").asText());
            }
        } catch (TimeoutException e) {
            throw new IllegalStateException("the engine did not validate the definition within " + READY_TIMEOUT);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while preparing a definition", e);
        } finally {
            pending.remove(id);
        }
    }

    /** {@link #prepare(String)} for every workflow's local definition. */
    public void prepareAll() {
        for (Workflow w : Workflow.values()) {
            prepare(w.localDefinition());
        }
    }

    /**
     * Runs a workflow's local definition (task ARNs in the local region and account, qualified by
     * {@link Workflow#LOCAL_ALIAS}; routing goes by the function name whatever the qualifier).
     */
    public ExecutionResult run(Workflow workflow, String inputJson, LambdaHandlers handlers, RunOptions options) {
        return run(workflow.localDefinition(), inputJson, handlers, options);
    }

    /**
     * Runs one execution to its end and returns how it ended. Waits at most
     * {@link RunOptions#timeout()}; an execution still running then is aborted and reported
     * TIMED_OUT. Executions may run concurrently from several threads.
     *
     * @throws IllegalArgumentException if the definition or input is not JSON
     * @throws IllegalStateException if the engine is closed or died
     */
    public ExecutionResult run(String definitionJson, String inputJson, LambdaHandlers handlers, RunOptions options) {
        Objects.requireNonNull(handlers, "handlers is null");
        Objects.requireNonNull(options, "options is null");
        JsonNode definition = parse("definition", definitionJson);
        JsonNode input = parse("input", inputJson);
        String id = "exec-" + UUID.randomUUID();
        ObjectNode req = json.createObjectNode();
        req.put("run", id);
        req.set("definition", definition);
        req.set("input", input);
        options.retryInterval().ifPresent(d -> req.put("retryIntervalMs", d.toMillis()));
        CompletableFuture<JsonNode> answer = new CompletableFuture<>();
        long start = System.nanoTime();
        pending.put(id, answer);
        tasks.register(id, handlers);
        try {
            send(req);
            JsonNode result;
            try {
                result = answer.get(options.timeout().toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                result = abort(id, answer, options.timeout());
            }
            return toResult(id, result, Duration.ofNanos(System.nanoTime() - start));
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            sendQuietly(abortRequest(id));
            throw new IllegalStateException("interrupted while waiting for execution " + id, e);
        } finally {
            pending.remove(id);
            tasks.unregister(id);
        }
    }

    private JsonNode abort(String id, CompletableFuture<JsonNode> answer, Duration timeout)
            throws InterruptedException, ExecutionException {
        log.warn("execution {} still running after {}: aborting it", id, timeout);
        send(abortRequest(id));
        try {
            JsonNode aborted = answer.get(ABORT_GRACE.toMillis(), TimeUnit.MILLISECONDS);
            ObjectNode r = aborted.deepCopy();
            r.put("status", ExecutionStatus.TIMED_OUT.name());
            r.put("error", "States.Timeout");
            r.put("cause", "the execution ran past the caller's bound of " + timeout + " and was aborted");
            return r;
        } catch (TimeoutException stillRunning) {
            ObjectNode r = json.createObjectNode();
            r.put("status", ExecutionStatus.TIMED_OUT.name());
            r.put("error", "States.Timeout");
            r.put("cause", "the execution ran past the caller's bound of " + timeout
                    + " and did not report its abort within " + ABORT_GRACE);
            return r;
        }
    }

    private ObjectNode abortRequest(String id) {
        ObjectNode a = json.createObjectNode();
        a.put("abort", id);
        return a;
    }

    private ExecutionResult toResult(String id, JsonNode r, Duration elapsed) {
        ExecutionStatus status = ExecutionStatus.valueOf(r.path("status").asText());
        List<HistoryEvent> events = new ArrayList<>();
        for (JsonNode e : r.path("events")) {
            events.add(new HistoryEvent(e.path("type").asText(), text(e, "state"), text(e, "error"), text(e, "cause"),
                    e.has("attempt") ? e.get("attempt").asInt() : null, text(e, "next")));
        }
        return new ExecutionResult(id, status, r.get("output"), text(r, "error"), text(r, "cause"), events, elapsed);
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    private JsonNode parse(String what, String text) {
        Objects.requireNonNull(text, what + " is null");
        try {
            return json.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("the " + what + " is not JSON: " + e.getOriginalMessage());
        }
    }

    private void send(JsonNode request) {
        try {
            sendLine(json.writeValueAsString(request));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private void sendQuietly(JsonNode request) {
        try {
            send(request);
        } catch (RuntimeException e) {
            log.debug("could not send {}: {}", request, e.toString());
        }
    }

    /** Writes one raw line to the driver; tests use it to send what {@link #run} never would. */
    void sendLine(String line) {
        if (closed || !process.isAlive()) {
            throw new IllegalStateException("the local Step Functions engine is not running; stderr: " + stderrTail());
        }
        synchronized (stdin) {
            try {
                stdin.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                stdin.flush();
            } catch (IOException e) {
                throw new IllegalStateException("the local Step Functions engine stopped reading: " + e.getMessage()
                        + "; stderr: " + stderrTail(), e);
            }
        }
    }

    /** Answers no caller waits for: refused malformed lines, and executions abandoned after their bound. */
    long rejectedLines() {
        return rejectedLines.get();
    }

    /** The URI of the task endpoint (tests call it directly to check what it refuses). */
    java.net.URI taskEndpoint() {
        return tasks.uri();
    }

    /** The task endpoint's secret (tests send well-authenticated garbage with it). */
    String taskSecret() {
        return secret;
    }

    private void readStdout() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                JsonNode msg;
                try {
                    msg = json.readTree(line);
                } catch (JsonProcessingException e) {
                    log.warn("local Step Functions engine wrote a line that is not JSON: {}", line);
                    continue;
                }
                if (msg.path("ready").asBoolean(false)) {
                    ready.complete(msg.path("engine").asText());
                    continue;
                }
                String id = text(msg, "id");
                CompletableFuture<JsonNode> f = id == null ? null : pending.get(id);
                if (f != null) {
                    f.complete(msg);
                } else {
                    rejectedLines.incrementAndGet();
                    log.warn("local Step Functions engine: {} {}: {}", msg.path("status").asText(),
                            msg.path("error").asText(), msg.path("cause").asText());
                }
            }
        } catch (IOException e) {
            log.debug("local Step Functions stdout closed: {}", e.toString());
        } finally {
            IllegalStateException dead = new IllegalStateException("the local Step Functions engine exited"
                    + (closed ? " (closed)" : " unexpectedly") + "; stderr: " + stderrTail());
            ready.completeExceptionally(dead);
            pending.values().forEach(f -> f.completeExceptionally(dead));
        }
    }

    private void readStderr() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                log.debug("local-sfn: {}", line);
                synchronized (stderrTail) {
                    stderrTail.add(line);
                    if (stderrTail.size() > STDERR_TAIL_LINES) {
                        stderrTail.removeFirst();
                    }
                }
            }
        } catch (IOException e) {
            log.debug("local Step Functions stderr closed: {}", e.toString());
        }
    }

    private String stderrTail() {
        synchronized (stderrTail) {
            return stderrTail.isEmpty() ? "(empty)" : String.join("\n", stderrTail);
        }
    }

    /** The child's process id (tests kill it to check what a dying engine does). */
    long pid() {
        return process.pid();
    }

    /** Whether the engine's process is running. */
    public boolean isAlive() {
        return process.isAlive();
    }

    /** Stops the engine: closes its stdin (it exits), then kills it if it has not within a few seconds. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            stdin.close();
        } catch (IOException e) {
            log.debug("closing the engine's stdin: {}", e.toString());
        }
        try {
            if (!process.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            tasks.close();
            deleteTree(workDir);
        }
    }

    private static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            log.debug("could not delete {}: {}", dir, e.toString());
        }
    }
}
