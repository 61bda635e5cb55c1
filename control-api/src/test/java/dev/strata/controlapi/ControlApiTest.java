package dev.strata.controlapi;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strata.control.local.LocalDynamo;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.OperationKind;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.statemachines.LocalStepFunctions;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The API over HTTP on 127.0.0.1, on real parts: dynalite, the local ASL engine running the real
 * workflow definitions with every Task routed to the real handlers; the compute and storage seams are
 * the recording fakes (they are not the subject). Each operation is polled to its end as the cli does.
 */
class ControlApiTest {

    @TempDir
    static Path dir;
    static LocalDynamo dynamo;
    static LocalStepFunctions engine;

    ApiFixture f;

    @BeforeAll
    static void start() {
        dynamo = LocalDynamo.start(dir);
        engine = LocalStepFunctions.start();
        engine.prepareAll();
    }

    @AfterAll
    static void stop() {
        if (engine != null) {
            engine.close();
        }
        if (dynamo != null) {
            dynamo.close();
        }
    }

    @BeforeEach
    void api() {
        f = new ApiFixture(dynamo, engine);
        f.h.idleAgent(NodeId.of("agent-a"));
        f.h.idleAgent(NodeId.of("agent-b"));
    }

    @AfterEach
    void close() {
        f.close();
    }

    @Test
    void createProjectSucceedsAndIsListedWithItsBranchEndpointAndOperation() throws Exception {
        JsonNode op = f.accepted("POST", "/v1/projects", "{\"name\": \"shop\"}");
        assertThat(op.get("kind").asText()).isEqualTo("CREATE_PROJECT");
        assertThat(op.get("state").asText()).isIn("SCHEDULED", "RUNNING", "SUCCEEDED");
        String project = op.get("project").asText();

        JsonNode done = f.succeed(op);
        assertThat(done.get("executionArn").asText()).isNotBlank();
        assertThat(done.has("error")).as("absent fields are left out").isFalse();

        JsonNode projects = f.get("/v1/projects");
        assertThat(projects.findValuesAsText("id")).contains(project);
        assertThat(f.get("/v1/projects/" + project).get("name").asText()).isEqualTo("shop");
        JsonNode branches = f.get("/v1/projects/" + project + "/branches");
        assertThat(branches).hasSize(1);
        assertThat(branches.get(0).get("name").asText()).isEqualTo("main");
        assertThat(branches.get(0).get("state").asText()).isEqualTo("READY");
        JsonNode endpoints = f.get("/v1/projects/" + project + "/endpoints");
        assertThat(endpoints).hasSize(1);
        assertThat(endpoints.get(0).get("state").asText()).isEqualTo("SUSPENDED");
        JsonNode ops = f.get("/v1/operations?project=" + project);
        assertThat(ops.findValuesAsText("id")).containsExactly(op.get("id").asText());
        assertThat(f.h.storage.timelines()).hasSize(1);

        // the same id again: 409, nothing scheduled
        HttpResponse<String> again = f.send("POST", "/v1/projects", "{\"name\": \"x\", \"id\": \"" + project + "\"}");
        assertThat(again.statusCode()).isEqualTo(409);
        assertThat(f.get("/v1/operations?project=" + project)).hasSize(1);
    }

    @Test
    void theLauncherSignalsTheEndOfAnExecutionAfterItsOperationIsFinal() throws Exception {
        JsonNode op = f.accepted("POST", "/v1/projects", "{\"name\": \"signal\"}");
        dev.strata.control.model.OperationId id = dev.strata.control.model.OperationId.of(op.get("id").asText());
        java.util.concurrent.CompletableFuture<Void> ended = f.launcher.ended(id);
        // Registered after the launch: either it ends later and completes the future, or it had
        // ended already and the operation reads final.
        if (!f.h.store.getOperation(id).orElseThrow().state().isFinal()) {
            ended.get(120, java.util.concurrent.TimeUnit.SECONDS);
        }
        assertThat(f.h.store.getOperation(id).orElseThrow().state())
                .isEqualTo(dev.strata.control.model.OperationState.SUCCEEDED);
        f.launcher.stopWaiting(id, ended);
        java.util.concurrent.CompletableFuture<Void> late = f.launcher.ended(id);
        assertThat(late).as("asked after the end: never completes on its own").isNotDone();
        f.launcher.stopWaiting(id, late);
    }

    @Test
    void startAndSuspendAnEndpoint() throws Exception {
        String project = f.project("compute");
        String endpoint = f.get("/v1/projects/" + project + "/endpoints").get(0).get("id").asText();

        JsonNode start = f.accepted("POST", "/v1/endpoints/" + endpoint + "/start", null);
        assertThat(start.get("kind").asText()).isEqualTo("START_COMPUTE");
        assertThat(start.get("endpoint").asText()).isEqualTo(endpoint);
        f.succeed(start);
        JsonNode running = f.get("/v1/endpoints/" + endpoint);
        assertThat(running.get("state").asText()).isEqualTo("RUNNING");
        assertThat(running.get("address").asText()).isNotBlank();
        assertThat(f.h.compute.runningOn(EndpointId.of(endpoint))).isPresent();

        // a start of a running endpoint: 409, naming the state
        HttpResponse<String> again = f.send("POST", "/v1/endpoints/" + endpoint + "/start", null);
        assertThat(again.statusCode()).isEqualTo(409);
        assertThat(f.JSON.readTree(again.body()).get("message").asText()).contains("RUNNING");

        JsonNode suspend = f.accepted("POST", "/v1/endpoints/" + endpoint + "/suspend", "");
        assertThat(suspend.get("kind").asText()).isEqualTo("SUSPEND_COMPUTE");
        f.succeed(suspend);
        assertThat(f.get("/v1/endpoints/" + endpoint).get("state").asText()).isEqualTo("SUSPENDED");
        assertThat(f.h.compute.runningOn(EndpointId.of(endpoint))).isEmpty();
        assertThat(f.send("POST", "/v1/endpoints/" + endpoint + "/suspend", null).statusCode()).isEqualTo(409);

        // and woken again: a new operation (the endpoint's version moved)
        JsonNode second = f.accepted("POST", "/v1/endpoints/" + endpoint + "/start", null);
        assertThat(second.get("id").asText()).isNotEqualTo(start.get("id").asText());
        f.succeed(second);
        assertThat(f.get("/v1/operations?project=" + project).findValuesAsText("kind"))
                .containsExactly("CREATE_PROJECT", "START_COMPUTE", "SUSPEND_COMPUTE", "START_COMPUTE");
    }

    @Test
    void concurrentStartsOfOneEndpointGetTheSameOperationAndOneCompute() throws Exception {
        String project = f.project("race");
        String endpoint = f.get("/v1/projects/" + project + "/endpoints").get(0).get("id").asText();
        int callers = 6;
        // the wake waits in StartPostgres until every caller has its answer, so none can read the
        // endpoint after the wake ended: each sees it SUSPENDED (the same operation id) or WAKING (held
        // by that operation)
        var gate = f.h.compute.faults().blockNext("startPostgres");
        ExecutorService threads = Executors.newFixedThreadPool(callers);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<HttpResponse<String>>> calls = new ArrayList<>();
            for (int i = 0; i < callers; i++) {
                Callable<HttpResponse<String>> c = () -> {
                    go.await();
                    return f.send("POST", "/v1/endpoints/" + endpoint + "/start", null);
                };
                calls.add(threads.submit(c));
            }
            go.countDown();
            Set<String> ids = new HashSet<>();
            for (Future<HttpResponse<String>> c : calls) {
                HttpResponse<String> r = c.get(120, TimeUnit.SECONDS);
                assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
                ids.add(f.JSON.readTree(r.body()).get("id").asText());
            }
            assertThat(ids).hasSize(1);
            gate.open();
            JsonNode done = f.finish(ids.iterator().next());
            assertThat(done.get("state").asText()).isEqualTo("SUCCEEDED");
        } finally {
            gate.open();
            threads.shutdownNow();
            assertThat(threads.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(f.h.compute.runningCount()).isEqualTo(1);
        assertThat(f.h.endpoint(EndpointId.of(endpoint)).state()).isEqualTo(EndpointState.RUNNING);
        long starts = f.h.store.listOperations(dev.strata.pgcore.id.ProjectId.of(project)).stream()
                .filter(o -> o.kind() == OperationKind.START_COMPUTE).count();
        assertThat(starts).isEqualTo(1);
    }

    @Test
    void aStartDuringAWakeReturnsTheWakesOperation() throws Exception {
        String project = f.project("held");
        String endpoint = f.get("/v1/projects/" + project + "/endpoints").get(0).get("id").asText();
        var gate = f.h.compute.faults().blockNext("startPostgres");
        JsonNode first = f.accepted("POST", "/v1/endpoints/" + endpoint + "/start", null);
        assertThat(gate.awaitArrival(java.time.Duration.ofSeconds(60))).isTrue();
        assertThat(f.get("/v1/endpoints/" + endpoint).get("state").asText()).isEqualTo("WAKING");
        JsonNode second = f.accepted("POST", "/v1/endpoints/" + endpoint + "/start", null);
        assertThat(second.get("id").asText()).isEqualTo(first.get("id").asText());
        // a suspend while it wakes: 409 naming the wake
        HttpResponse<String> suspend = f.send("POST", "/v1/endpoints/" + endpoint + "/suspend", null);
        assertThat(suspend.statusCode()).isEqualTo(409);
        assertThat(suspend.body()).contains(first.get("id").asText());
        gate.open();
        f.succeed(first);
    }

    @Test
    void branchesAreCreatedListedAndDeletedThroughOperations() throws Exception {
        String project = f.project("branches");
        JsonNode create = f.accepted("POST", "/v1/projects/" + project + "/branches",
                "{\"name\": \"dev\", \"at\": {\"kind\": \"head\"}}");
        assertThat(create.get("kind").asText()).isEqualTo("CREATE_BRANCH");
        f.succeed(create);
        JsonNode branches = f.get("/v1/projects/" + project + "/branches");
        assertThat(branches.findValuesAsText("name")).containsExactlyInAnyOrder("main", "dev");
        assertThat(f.get("/v1/projects/" + project + "/endpoints")).hasSize(2);

        assertThat(f.send("POST", "/v1/projects/" + project + "/branches", "{\"name\": \"dev\"}").statusCode())
                .isEqualTo(409);
        assertThat(f.send("POST", "/v1/projects/" + project + "/branches", "{\"name\": \"x\", \"parent\": \"nope\"}")
                .statusCode()).isEqualTo(404);
        assertThat(f.send("POST", "/v1/projects/" + project + "/branches",
                "{\"name\": \"x\", \"at\": {\"kind\": \"lsn\", \"value\": \"zz\"}}").statusCode()).isEqualTo(400);

        // a project with branches is not deleted
        HttpResponse<String> refused = f.send("DELETE", "/v1/projects/" + project, null);
        assertThat(refused.statusCode()).isEqualTo(409);
        assertThat(refused.body()).contains("dev").contains("main");

        f.succeed(f.accepted("DELETE", "/v1/projects/" + project + "/branches/dev", null));
        assertThat(f.get("/v1/projects/" + project + "/branches").findValuesAsText("name")).containsExactly("main");
        f.succeed(f.accepted("DELETE", "/v1/projects/" + project + "/branches/main", null));
        assertThat(f.get("/v1/projects/" + project + "/branches")).isEmpty();
        assertThat(f.h.storage.timelines()).isEmpty();

        assertThat(f.send("DELETE", "/v1/projects/" + project, null).statusCode()).isEqualTo(204);
        assertThat(f.send("GET", "/v1/projects/" + project, null).statusCode()).isEqualTo(404);
        assertThat(f.get("/v1/projects").findValuesAsText("id")).doesNotContain(project);
    }

    @Test
    void anEndpointIsCreatedOnABranchWithoutOneAndABranchIsRestored() throws Exception {
        String project = f.project("restore");
        f.succeed(f.accepted("POST", "/v1/projects/" + project + "/branches",
                "{\"name\": \"bare\", \"endpoint\": false}"));
        assertThat(f.get("/v1/projects/" + project + "/endpoints")).hasSize(1);
        HttpResponse<String> created = f.send("POST", "/v1/projects/" + project + "/endpoints",
                "{\"branch\": \"bare\", \"cpuMillis\": 500, \"idleTimeoutSeconds\": 60}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        JsonNode ep = f.JSON.readTree(created.body());
        assertThat(ep.get("state").asText()).isEqualTo("SUSPENDED");
        assertThat(ep.get("cpuMillis").asInt()).isEqualTo(500);
        assertThat(ep.get("idleTimeoutSeconds").asLong()).isEqualTo(60);
        assertThat(f.get("/v1/projects/" + project + "/endpoints")).hasSize(2);
        JsonNode restore = f.accepted("POST", "/v1/projects/" + project + "/branches/bare/restore",
                "{\"to\": {\"kind\": \"head\"}}");
        assertThat(restore.get("kind").asText()).isEqualTo("RESTORE_BRANCH");
        assertThat(restore.get("endpoint").asText()).isEqualTo(ep.get("id").asText());
        f.succeed(restore);
        assertThat(f.get("/v1/projects/" + project + "/branches").findValuesAsText("name"))
                .anyMatch(n -> n.startsWith("bare_old_")).contains("main", "bare");
    }

    @Test
    void aWorkflowThatCannotStartFailsItsOperation() throws Exception {
        f.close();
        f = new ApiFixture(dynamo, engine, (w, op, in) -> {
            throw new IllegalStateException("no state machine here");
        });
        HttpResponse<String> r = f.send("POST", "/v1/projects", "{\"name\": \"doomed\", \"id\": \"p-doomed\"}");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.body()).contains("no state machine here");
        var ops = f.h.store.listOperations(dev.strata.pgcore.id.ProjectId.of("p-doomed"));
        assertThat(ops).hasSize(1);
        assertThat(ops.get(0).state()).isEqualTo(dev.strata.control.model.OperationState.FAILED);
        assertThat(ops.get(0).error().orElseThrow()).contains("no state machine here");
    }
}
