package dev.strata.statemachines;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strata.control.local.LocalDynamo;
import dev.strata.control.model.Branch;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationKind;
import dev.strata.control.storage.BranchTarget;
import dev.strata.control.testing.ControlPlaneHarness;
import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.ProjectId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the branch workflow tests share: dynalite and the local engine (one each per class), and per
 * test a fresh table with a project whose main branch (READY) is on a timeline with three commits in
 * the recording storage, main's endpoint (SUSPENDED) and two idle agents.
 */
abstract class BranchWorkflowBase {

    static final RunOptions OPTIONS = RunOptions.defaults().withTimeout(Duration.ofSeconds(45))
            .withRetryInterval(Duration.ofMillis(10));
    static final ObjectMapper JSON = new ObjectMapper();

    static final ProjectId PROJECT = ProjectId.of("p-br");
    static final BranchId MAIN = BranchId.of("br-main");
    static final TimelineId TIMELINE = TimelineId.parse("11112222333344445555666677778888");
    static final EndpointId ENDPOINT = EndpointId.of("ep-main");
    static final NodeId AGENT_A = NodeId.of("agent-a");
    static final NodeId AGENT_B = NodeId.of("agent-b");
    static final Instant T0 = Instant.parse("2026-12-06T04:00:00Z");
    static final Lsn LSN_1 = Lsn.parse("0/1C00000");
    static final Lsn LSN_2 = Lsn.parse("0/2000000");
    static final Lsn HEAD = Lsn.parse("0/2100000");

    @TempDir
    static Path dir;
    static LocalDynamo dynamo;
    static LocalStepFunctions engine;

    ControlPlaneHarness h;
    LambdaHandlers functions;
    int ops;

    @BeforeAll
    static void start() {
        dynamo = LocalDynamo.start(dir);
        engine = LocalStepFunctions.start();
    }

    @AfterAll
    static void stop() {
        if (engine != null) {
            engine.close();
            assertThat(engine.isAlive()).isFalse();
        }
        if (dynamo != null) {
            dynamo.close();
        }
    }

    @BeforeEach
    void seed() {
        h = ControlPlaneHarness.on(dynamo);
        functions = ControlPlaneFunctions.on(h.controlPlane);
        h.project(PROJECT);
        h.readyBranch(PROJECT, MAIN, TIMELINE);
        h.endpoint(PROJECT, MAIN, ENDPOINT);
        h.idleAgent(AGENT_A);
        h.idleAgent(AGENT_B);
        h.storage.createTimeline(TIMELINE, 17);
        h.storage.commit(TIMELINE, T0, LSN_1);
        h.storage.commit(TIMELINE, T0.plusSeconds(20), LSN_2);
        h.storage.commit(TIMELINE, T0.plusSeconds(60), HEAD);
    }

    @AfterEach
    void closeHarness() {
        h.close();
    }

    OperationId schedule(OperationKind kind, BranchId branch, Optional<EndpointId> endpoint) {
        OperationId id = OperationId.of("op-br" + kind.name().toLowerCase().replace("_", "") + (++ops));
        h.store.createOperation(Operation.schedule(id, PROJECT, kind, Optional.of(branch), endpoint, Instant.now()));
        return id;
    }

    ExecutionResult run(Workflow w, Map<String, Object> input, LambdaHandlers with) {
        return engine.run(w, json(input), with, OPTIONS);
    }

    ExecutionResult wake(EndpointId endpoint, BranchId branch) {
        OperationId op = schedule(OperationKind.START_COMPUTE, branch, Optional.of(endpoint));
        return run(Workflow.WAKE, Map.of("operationId", op.toString(), "endpointId", endpoint.toString(),
                "projectId", PROJECT.toString(), "branchId", branch.toString()), functions);
    }

    Map<String, Object> createBranchInput(OperationId op, String name, BranchId parent, BranchTarget target,
                                          boolean endpoint) {
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("operationId", op.toString());
        in.put("projectId", PROJECT.toString());
        in.put("name", name);
        in.put("parentBranchId", parent.toString());
        in.put("target", target.toJson());
        in.put("createEndpoint", endpoint);
        in.put("recoversExecution", "");
        return in;
    }

    Map<String, Object> restoreInput(OperationId op, BranchId branch, BranchId source, BranchTarget target,
                                     String recovers) {
        return Map.of("operationId", op.toString(), "projectId", PROJECT.toString(), "branchId", branch.toString(),
                "sourceBranchId", source.toString(), "target", target.toJson(), "recoversExecution", recovers);
    }

    Map<String, Object> deleteInput(OperationId op, BranchId branch) {
        return Map.of("operationId", op.toString(), "projectId", PROJECT.toString(), "branchId", branch.toString(),
                "recoversExecution", "");
    }

    Branch branch(BranchId id) {
        return h.store.getBranch(PROJECT, id).orElseThrow();
    }

    static String json(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
