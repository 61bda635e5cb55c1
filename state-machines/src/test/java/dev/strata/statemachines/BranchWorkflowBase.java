package dev.strata.statemachines;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strata.control.local.LocalDynamo;
import dev.strata.control.model.AgentState;
import dev.strata.control.model.Branch;
import dev.strata.control.model.ComputeAgent;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationKind;
import dev.strata.control.model.OperationState;
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
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the branch workflow tests and the crash-recovery tests share: dynalite and the local engine
 * (one each per class), and per test a fresh table with a project whose main branch (READY) is on a
 * timeline with three commits in the recording storage, main's endpoint (SUSPENDED) and two idle
 * agents; a crashed run ({@link CrashAfter}), the recovery procedure, and the checks that nothing was
 * left behind.
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
                "projectId", PROJECT.toString(), "branchId", branch.toString(), "recoversExecution", ""), functions);
    }

    /** Runs {@code w} with the handlers crashing after {@code after} calls; checks the calls made were {@code expect}'s first. */
    ExecutionResult runCrashed(Workflow w, Map<String, Object> input, int after, List<String> expect) {
        CrashAfter crash = new CrashAfter(after);
        ExecutionResult r = run(w, input, crash.on(h.controlPlane));
        assertThat(crash.ran).isEqualTo(expect.subList(0, Math.min(after, expect.size())));
        if (after < expect.size()) {
            assertThat(r.status()).isEqualTo(ExecutionStatus.FAILED);
        }
        return r;
    }

    /**
     * The recovery procedure (docs/control-plane.md, "Crash recovery"): an operation still SCHEDULED
     * or RUNNING is run again, same input, with {@code recoversExecution} naming the dead execution;
     * a finished one is left as it is. Returns the recovery's result, if it ran.
     */
    Optional<ExecutionResult> recover(Workflow w, OperationId op, Map<String, Object> input) {
        Operation o = h.operation(op);
        if (o.state() == OperationState.SUCCEEDED || o.state() == OperationState.FAILED) {
            return Optional.empty();
        }
        Map<String, Object> again = new HashMap<>(input);
        again.put("recoversExecution", o.executionArn().orElse(""));
        return Optional.of(run(w, again, functions));
    }

    /**
     * No compute left behind: the endpoint is RUNNING or SUSPENDED (never left waking or
     * suspending); RUNNING, the provisioner runs exactly one compute, its own, on the agent it names,
     * which is the only CLAIMED agent; SUSPENDED, the provisioner runs none and no agent is CLAIMED.
     * Every RETIRED agent was retired in the provisioner too. Returns the endpoint.
     */
    Endpoint assertNoComputeLeftBehind(EndpointId id) {
        Endpoint e = h.endpoint(id);
        assertThat(e.state()).as("no endpoint stuck waking or suspending: " + e)
                .isIn(EndpointState.RUNNING, EndpointState.SUSPENDED);
        List<NodeId> claimed = h.store.listAgents(AgentState.CLAIMED).stream().map(ComputeAgent::id).toList();
        if (e.state() == EndpointState.RUNNING) {
            assertThat(claimed).as("the only claimed agent is the endpoint's").containsExactly(e.agent().orElseThrow());
            assertThat(h.compute.runningOn(id)).isEqualTo(e.agent());
            assertThat(h.compute.runningCount()).as("computes the metadata does not name").isEqualTo(1);
        } else {
            assertThat(claimed).as("no agent claimed for a suspended endpoint").isEmpty();
            assertThat(h.compute.runningCount()).as("computes the metadata does not name").isZero();
        }
        Set<NodeId> retired = h.store.listAgents(AgentState.RETIRED).stream().map(ComputeAgent::id)
                .collect(Collectors.toSet());
        assertThat(h.compute.retired()).containsExactlyInAnyOrderElementsOf(retired);
        return e;
    }

    /** Every branch's timeline exists in storage, and every timeline in storage is a branch's. */
    void assertTimelinesMatchBranches() {
        Set<TimelineId> used = h.store.listBranches(PROJECT).stream().map(Branch::timeline).collect(Collectors.toSet());
        assertThat(h.storage.timelines()).containsExactlyInAnyOrderElementsOf(used);
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
