package dev.strata.statemachines;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The engine itself, whatever the workflow: bad definitions, inputs and protocol lines are refused with
 * a clear error while other executions keep running; the task endpoint refuses what is not an
 * authenticated, well-formed call; bounds and concurrency; close() stops the child.
 */
class LocalStepFunctionsTest {

    private static final RunOptions OPTIONS = RunOptions.defaults().withTimeout(Duration.ofMinutes(1));
    private static final String ECHO = """
            {"StartAt": "Echo", "States": {"Echo": {"Type": "Task",
              "Resource": "arn:aws:lambda:us-east-1:000000000000:function:echo", "TimeoutSeconds": 30, "End": true}}}""";

    private static LocalStepFunctions engine;
    private static HttpClient http;

    @BeforeAll
    static void start() {
        engine = LocalStepFunctions.start();
        http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    }

    @AfterAll
    static void stop() {
        if (engine != null) {
            engine.close();
        }
        if (http != null) {
            http.close();
        }
    }

    private static LambdaHandlers echo() {
        return new LambdaHandlers().add("echo", Map.class, (in, ctx) -> Map.of("echo", in, "fn", ctx.getFunctionName()));
    }

    private static void engineStillServes() {
        ExecutionResult r = engine.run(ECHO, "{\"n\": 1}", echo(), OPTIONS);
        assertThat(r.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(r.output().path("echo").path("n").asInt()).isEqualTo(1);
    }

    @Test
    void runsATaskThroughAJavaHandlerAndReturnsItsOutput() {
        ExecutionResult r = engine.run(ECHO, "{\"n\": 42}", echo(), OPTIONS);

        assertThat(r.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(r.output().path("echo").path("n").asInt()).isEqualTo(42);
        assertThat(r.output().path("fn").asText()).isEqualTo("echo");
        assertThat(r.statesVisited()).containsExactly("Echo");
        assertThat(r.error()).isNull();
    }

    @Test
    void aQualifiedArnRoutesByFunctionNameAndIsTheInvokedArn() {
        for (String qualifier : List.of(Workflow.LOCAL_ALIAS, "7")) {
            String arn = "arn:aws:lambda:us-east-1:000000000000:function:echo:" + qualifier;
            String def = ECHO.replace("function:echo\"", "function:echo:" + qualifier + "\"");
            LambdaHandlers h = new LambdaHandlers().add("echo", Map.class,
                    (in, ctx) -> Map.of("fn", ctx.getFunctionName(), "arn", ctx.getInvokedFunctionArn()));

            ExecutionResult r = engine.run(def, "{}", h, OPTIONS);

            assertThat(r.status()).as(qualifier).isEqualTo(ExecutionStatus.SUCCEEDED);
            assertThat(r.output().path("fn").asText()).isEqualTo("echo");
            assertThat(r.output().path("arn").asText()).isEqualTo(arn);
        }
    }

    @Test
    void definitionOrInputThatIsNotJsonIsRefusedBeforeTheEngine() {
        assertThatThrownBy(() -> engine.run("{\"StartAt\": ", "{}", echo(), OPTIONS))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("definition is not JSON");
        assertThatThrownBy(() -> engine.run(ECHO, "{n: 1", echo(), OPTIONS))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("input is not JSON");
        engineStillServes();
    }

    @Test
    void invalidAslIsRejectedWithTheValidatorsReason() {
        ExecutionResult r = engine.run("""
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}""", "{}", echo(), OPTIONS);

        assertThat(r.status()).isEqualTo(ExecutionStatus.REJECTED);
        assertThat(r.error()).isEqualTo("Strata.InvalidDefinition");
        assertThat(r.cause()).contains("Nowhere");
        ExecutionResult notAsl = engine.run("[1, 2]", "{}", echo(), OPTIONS);
        assertThat(notAsl.status()).isEqualTo(ExecutionStatus.REJECTED);
        engineStillServes();
    }

    @Test
    void malformedProtocolLinesAreRefusedAndTheEngineKeepsServing() throws Exception {
        long before = engine.rejectedLines();

        engine.sendLine("this is not json");
        engine.sendLine("[\"an\", \"array\"]");
        engine.sendLine("{\"run\": 17}");
        engine.sendLine("{\"run\": \"x\", \"definition\": \"not an object\"}");

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (engine.rejectedLines() < before + 3 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(engine.rejectedLines()).isGreaterThanOrEqualTo(before + 3);
        assertThat(engine.isAlive()).isTrue();
        engineStillServes();
    }

    @Test
    void aFunctionWithoutAHandlerFailsTheTaskAsLambdaWould() {
        ExecutionResult r = engine.run(ECHO, "{}", new LambdaHandlers(), OPTIONS);

        assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r.error()).isEqualTo("Lambda.ResourceNotFoundException");
        assertThat(r.cause()).contains("echo");
    }

    @Test
    void aPayloadTheHandlerCannotReadFailsTheTaskWithTheReason() {
        record Typed(int count) {
        }
        LambdaHandlers typed = new LambdaHandlers().add("echo", Typed.class, (in, ctx) -> Map.of("count", in.count()));

        ExecutionResult r = engine.run(ECHO, "{\"count\": \"many\"}", typed, OPTIONS);

        assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        assertThat(r.error()).isEqualTo("java.lang.IllegalArgumentException");
        assertThat(r.cause()).contains("Typed");
        ExecutionResult ok = engine.run(ECHO, "{\"count\": 3}", typed, OPTIONS);
        assertThat(ok.output().path("count").asInt()).isEqualTo(3);
    }

    @Test
    void anExecutionPastTheCallersBoundIsAbortedAndReportedTimedOut() {
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        LambdaHandlers hanging = new LambdaHandlers().add("echo", Map.class, (in, ctx) -> {
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return Map.of();
        });
        try {
            ExecutionResult r = engine.run(ECHO, "{}", hanging, OPTIONS.withTimeout(Duration.ofSeconds(1)));

            assertThat(r.status()).isEqualTo(ExecutionStatus.TIMED_OUT);
            assertThat(r.error()).isEqualTo("States.Timeout");
            assertThat(r.cause()).contains("caller's bound");
        } finally {
            release.countDown();
        }
        engineStillServes();
    }

    @Test
    void theDefinitionsOwnTimeoutEndsTheExecution() {
        ExecutionResult r = engine.run("""
                {"StartAt": "W", "TimeoutSeconds": 1, "States": {"W": {"Type": "Wait", "Seconds": 20, "End": true}}}""",
                "{}", echo(), OPTIONS);

        assertThat(r.status()).isEqualTo(ExecutionStatus.TIMED_OUT);
        assertThat(r.statesVisited()).containsExactly("W");
    }

    @Test
    void concurrentExecutionsEachReachTheirOwnHandlers() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<ExecutionResult>> runs = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                int n = i;
                LambdaHandlers own = new LambdaHandlers().add("echo", Map.class, (in, ctx) -> Map.of("who", n));
                runs.add(pool.submit(() -> engine.run(ECHO, "{}", own, OPTIONS)));
            }
            for (int i = 0; i < runs.size(); i++) {
                ExecutionResult r = runs.get(i).get(60, TimeUnit.SECONDS);
                assertThat(r.status()).isEqualTo(ExecutionStatus.SUCCEEDED);
                assertThat(r.output().path("who").asInt()).isEqualTo(i);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void taskEndpointRefusesCallsWithoutTheSecret() throws Exception {
        HttpResponse<String> none = post(null, "{}");
        HttpResponse<String> wrong = post("Bearer " + "0".repeat(64), "{}");

        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(wrong.body()).contains("Strata.Unauthorized");
    }

    @Test
    void taskEndpointRefusesMalformedCallsWithTheReasonAndKeepsServing() throws Exception {
        String auth = "Bearer " + engine.taskSecret();

        HttpResponse<String> notJson = post(auth, "{\"executionId\": ");
        HttpResponse<String> missing = post(auth, "{\"executionId\": \"e\"}");
        HttpResponse<String> unknown = post(auth, """
                {"executionId": "exec-none", "resource": "arn:aws:lambda:us-east-1:000000000000:function:echo", "payload": {}}""");
        HttpResponse<String> tooLarge = post(auth, "{\"pad\": \"" + "x".repeat(TaskEndpoint.MAX_REQUEST_BYTES) + "\"}");
        HttpResponse<String> get = http.send(HttpRequest.newBuilder(engine.taskEndpoint()).GET()
                .header("Authorization", auth).timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());

        assertThat(notJson.statusCode()).isEqualTo(400);
        assertThat(notJson.body()).contains("not JSON");
        assertThat(missing.statusCode()).isEqualTo(400);
        assertThat(missing.body()).contains("resource");
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(unknown.body()).contains("exec-none");
        assertThat(tooLarge.statusCode()).isEqualTo(413);
        assertThat(get.statusCode()).isEqualTo(405);
        engineStillServes();
    }

    @Test
    void taskEndpointListensOnLoopbackOnly() {
        URI uri = engine.taskEndpoint();
        assertThat(uri.getHost()).isEqualTo("127.0.0.1");
    }

    @Test
    void prepareValidatesOnceAndRefusesAnInvalidDefinition() {
        engine.prepareAll();
        engine.prepare(ECHO);

        assertThatThrownBy(() -> engine.prepare("""
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}"""))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Nowhere");
        engineStillServes();
    }

    @Test
    void anEngineThatDiesFailsThePendingExecutionWithAClearError() throws Exception {
        LocalStepFunctions own = LocalStepFunctions.start();
        java.util.concurrent.CountDownLatch called = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        LambdaHandlers blocking = new LambdaHandlers().add("echo", Map.class, (in, ctx) -> {
            called.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return Map.of();
        });
        ExecutorService runner = Executors.newSingleThreadExecutor();
        try {
            Future<ExecutionResult> pendingRun = runner.submit(() -> own.run(ECHO, "{}", blocking, OPTIONS));
            assertThat(called.await(30, TimeUnit.SECONDS)).isTrue();

            ProcessHandle.of(own.pid()).orElseThrow().destroyForcibly();

            assertThatThrownBy(() -> pendingRun.get(30, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(IllegalStateException.class)
                    .cause().hasMessageContaining("exited unexpectedly");
            assertThatThrownBy(() -> own.run(ECHO, "{}", echo(), OPTIONS)).isInstanceOf(IllegalStateException.class);
        } finally {
            release.countDown();
            runner.shutdownNow();
            own.close();
        }
        assertThat(own.isAlive()).isFalse();
    }

    @Test
    void closeStopsTheEngineAndLaterRunsFailClearly() {
        LocalStepFunctions own = LocalStepFunctions.start();
        assertThat(own.isAlive()).isTrue();

        own.close();

        assertThat(own.isAlive()).isFalse();
        assertThatThrownBy(() -> own.run(ECHO, "{}", echo(), OPTIONS))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("not running");
    }

    private static HttpResponse<String> post(String auth, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(engine.taskEndpoint()).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (auth != null) {
            b.header("Authorization", auth);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
