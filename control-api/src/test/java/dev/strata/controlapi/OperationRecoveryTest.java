package dev.strata.controlapi;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strata.control.local.LocalDynamo;
import dev.strata.control.model.AgentState;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationState;
import dev.strata.control.testing.Faults;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.statemachines.ControlPlaneFunctions;
import dev.strata.statemachines.LocalStepFunctions;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An API's engine dies in the middle of a wake (the endpoint WAKING, its agent claimed, Postgres
 * being started): the operation stays RUNNING (not failed: its changes need finishing or
 * compensating), and {@link OperationRecovery} with a new engine runs the wake again with
 * {@code recoversExecution}, which finishes it: the endpoint RUNNING on one compute.
 */
class OperationRecoveryTest {

    @TempDir
    static Path dir;
    static LocalDynamo dynamo;

    @BeforeAll
    static void start() {
        dynamo = LocalDynamo.start(dir);
    }

    @AfterAll
    static void stop() {
        if (dynamo != null) {
            dynamo.close();
        }
    }

    @Test
    void aWakeCutShortByTheEngineDyingIsFinishedByRecovery() throws Exception {
        LocalStepFunctions first = LocalStepFunctions.start();
        OperationId op;
        EndpointId endpoint;
        try (ApiFixture f = new ApiFixture(dynamo, first)) {
            f.h.idleAgent(NodeId.of("agent-r"));
            String project = f.project("recover");
            endpoint = EndpointId.of(f.get("/v1/projects/" + project + "/endpoints").get(0).get("id").asText());

            Faults.Gate gate = f.h.compute.faults().blockNext("startPostgres");
            JsonNode start = f.accepted("POST", "/v1/endpoints/" + endpoint + "/start", null);
            op = OperationId.of(start.get("id").asText());
            assertThat(gate.awaitArrival(Duration.ofSeconds(60))).isTrue();
            first.close(); // the engine dies with the wake at StartPostgres
            gate.open();
            // the launcher saw its execution end with the operation RUNNING: left as it is
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (f.launcherRunning() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            Operation cut = f.h.store.getOperation(op).orElseThrow();
            assertThat(cut.state()).isEqualTo(OperationState.RUNNING);
            assertThat(f.h.endpoint(endpoint).state()).isEqualTo(EndpointState.WAKING);

            // a new engine (as after a restart) and recovery
            try (LocalStepFunctions second = LocalStepFunctions.start();
                 LocalWorkflowLauncher launcher = new LocalWorkflowLauncher(second, ControlPlaneFunctions.on(f.h.controlPlane),
                         f.h.store, Clock.systemUTC(), ApiFixture.OPTIONS)) {
                OperationRecovery.Report report = new OperationRecovery(f.h.store, launcher).recoverAll();
                assertThat(report.relaunched()).extracting(Operation::id).containsExactly(op);
                assertThat(report.left()).isEmpty();
                JsonNode done = f.finish(op.toString());
                assertThat(done.get("state").asText()).as(done.toString()).isEqualTo("SUCCEEDED");
                assertThat(done.get("executionArn").asText()).isNotEqualTo(cut.executionArn().orElseThrow());
            }
            assertThat(f.h.endpoint(endpoint).state()).isEqualTo(EndpointState.RUNNING);
            assertThat(f.h.compute.runningCount()).isEqualTo(1);
            assertThat(f.h.agent(NodeId.of("agent-r")).state()).isEqualTo(AgentState.CLAIMED);
        } finally {
            first.close();
        }
    }

    /** A create-branch needs its name and point: recovered from the input the API stored on the operation. */
    @Test
    void aCreateBranchCutShortIsFinishedFromItsStoredInput() throws Exception {
        LocalStepFunctions first = LocalStepFunctions.start();
        try (ApiFixture f = new ApiFixture(dynamo, first)) {
            String project = f.project("recover-branch");
            Faults.Gate gate = f.h.storage.faults().blockNext("createBranchTimeline");
            JsonNode create = f.accepted("POST", "/v1/projects/" + project + "/branches",
                    "{\"name\": \"dev\", \"at\": {\"kind\": \"head\"}}");
            OperationId op = OperationId.of(create.get("id").asText());
            assertThat(f.h.store.getOperation(op).orElseThrow().input().orElseThrow()).contains("\"name\":\"dev\"")
                    .doesNotContain("recoversExecution");
            assertThat(gate.awaitArrival(Duration.ofSeconds(60))).isTrue();
            first.close();
            gate.open();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (f.launcherRunning() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(f.h.store.getOperation(op).orElseThrow().state()).isEqualTo(OperationState.RUNNING);

            try (LocalStepFunctions second = LocalStepFunctions.start();
                 LocalWorkflowLauncher launcher = new LocalWorkflowLauncher(second, ControlPlaneFunctions.on(f.h.controlPlane),
                         f.h.store, Clock.systemUTC(), ApiFixture.OPTIONS)) {
                OperationRecovery.Report report = new OperationRecovery(f.h.store, launcher).recoverAll();
                assertThat(report.relaunched()).extracting(Operation::id).containsExactly(op);
                JsonNode done = f.finish(op.toString());
                assertThat(done.get("state").asText()).as(done.toString()).isEqualTo("SUCCEEDED");
            }
            JsonNode branches = f.get("/v1/projects/" + project + "/branches");
            assertThat(branches.findValuesAsText("name")).containsExactlyInAnyOrder("main", "dev");
            assertThat(branches.findValuesAsText("state")).containsOnly("READY");
            assertThat(f.h.storage.timelines()).hasSize(2);
        } finally {
            first.close();
        }
    }
}
