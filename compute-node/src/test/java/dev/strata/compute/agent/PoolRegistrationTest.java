package dev.strata.compute.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.control.local.LocalDynamo;
import dev.strata.control.model.AgentState;
import dev.strata.control.model.ComputeAgent;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationKind;
import dev.strata.control.testing.ControlPlaneHarness;
import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.ProjectId;
import dev.strata.pgcore.id.TimelineId;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An agent joining the warm pool in the metadata (dynalite, a table per test): registering is
 * idempotent across restarts, follows a moved address, keeps a claim, replaces a retired item, and
 * the wake workflow's ClaimAgent step claims the registered agent, and leaving the pool as last
 * seen loses to a claim made since.
 */
class PoolRegistrationTest {

    @TempDir
    static Path dir;
    static LocalDynamo dynamo;
    ControlPlaneHarness h;

    @BeforeAll
    static void startDynamo() {
        dynamo = LocalDynamo.start(dir.resolve("dynamo"));
    }

    @AfterAll
    static void stopDynamo() {
        if (dynamo != null) {
            dynamo.close();
        }
    }

    @BeforeEach
    void harness() {
        h = ControlPlaneHarness.on(dynamo);
    }

    @AfterEach
    void close() {
        h.close();
    }

    @Test
    void registeringTwiceLeavesOneIdleItem() {
        NodeId id = PoolRegistration.defaultId("10.40.3.17");
        assertThat(id.toString()).isEqualTo("agent-10-40-3-17");
        ComputeAgent first = new PoolRegistration(h.store, id, "10.40.3.17:3080").register();
        ComputeAgent again = new PoolRegistration(h.store, id, "10.40.3.17:3080").register();

        assertThat(first.state()).isEqualTo(AgentState.IDLE);
        assertThat(again).isEqualTo(first);
        assertThat(h.store.listAgents(AgentState.IDLE)).extracting(ComputeAgent::id).containsExactly(id);
    }

    @Test
    void aRestartAtAnotherAddressMovesTheItem() {
        NodeId id = NodeId.of("agent-a");
        new PoolRegistration(h.store, id, "10.40.3.17:3080").register();
        ComputeAgent moved = new PoolRegistration(h.store, id, "10.40.3.18:3080").register();

        assertThat(moved.address()).isEqualTo("10.40.3.18:3080");
        assertThat(h.agent(id).address()).isEqualTo("10.40.3.18:3080");
        assertThat(h.agent(id).state()).isEqualTo(AgentState.IDLE);
    }

    @Test
    void theWakeWorkflowsClaimAgentClaimsARegisteredAgent() {
        NodeId id = NodeId.of("agent-b");
        new PoolRegistration(h.store, id, "10.40.3.19:3080").register();
        ProjectId project = h.project(ProjectId.random()).id();
        BranchId branch = BranchId.random();
        h.readyBranch(project, branch, TimelineId.random());
        Endpoint ep = h.endpoint(project, branch, EndpointId.random());
        OperationId op = OperationId.of("op-claimtest1");
        h.schedule(op, OperationKind.START_COMPUTE, project, ep.id());

        NodeId claimed = h.controlPlane.computeSteps().claimAgent(op, ep.id(), project, branch,
                "arn:aws:states:us-east-1:123456789012:execution:strata-wake:op-claimtest1", Optional.empty());

        assertThat(claimed).isEqualTo(id);
        assertThat(h.agent(id).state()).isEqualTo(AgentState.CLAIMED);
        assertThat(h.agent(id).claimedBy()).contains(ep.id());
        assertThat(h.endpoint(ep.id()).state()).isEqualTo(EndpointState.WAKING);

        // the agent restarts while claimed: it stays claimed (the endpoint's suspend returns it)
        ComputeAgent after = new PoolRegistration(h.store, id, "10.40.3.19:3080").register();
        assertThat(after.state()).isEqualTo(AgentState.CLAIMED);
        assertThat(after.claimedBy()).contains(ep.id());
        // and a clean stop leaves a claimed item alone
        assertThat(new PoolRegistration(h.store, id, "10.40.3.19:3080").deregister()).isFalse();
        assertThat(h.store.getAgent(id)).isPresent();
    }

    @Test
    void aRetiredItemIsReplacedAndACleanStopLeavesThePool() {
        NodeId id = NodeId.of("agent-c");
        ComputeAgent a = new PoolRegistration(h.store, id, "10.40.3.20:3080").register();
        h.store.updateAgent(a, a.retired());

        ComputeAgent fresh = new PoolRegistration(h.store, id, "10.40.3.20:3080").register();
        assertThat(fresh.state()).isEqualTo(AgentState.IDLE);
        assertThat(h.store.listAgents(AgentState.RETIRED)).isEmpty();

        assertThat(new PoolRegistration(h.store, id, "10.40.3.20:3080").deregister()).isTrue();
        assertThat(h.store.getAgent(id)).isEmpty();
        assertThat(h.store.listAgents(AgentState.IDLE)).isEmpty();
    }

    @Test
    void leavingAsSeenLosesToAWakeThatClaimedTheAgentSince() {
        NodeId id = NodeId.of("agent-e");
        PoolRegistration pool = new PoolRegistration(h.store, id, "10.40.3.22:3080");
        ComputeAgent seen = pool.register();
        assertThat(pool.read()).contains(seen);

        EndpointId endpoint = EndpointId.random();
        ComputeAgent claimed = h.store.claimAgent(endpoint).orElseThrow();
        assertThat(pool.deregister(seen)).as("claimed since it was seen").isFalse();
        assertThat(h.agent(id).claimedBy()).contains(endpoint);

        ComputeAgent released = h.store.updateAgent(claimed, claimed.released());
        assertThat(pool.deregister(seen)).as("claimed and released since: IDLE, but not as seen").isFalse();
        assertThat(h.agent(id)).isEqualTo(released);

        assertThat(pool.deregister(released)).isTrue();
        assertThat(pool.read()).isEmpty();
    }

    @Test
    void concurrentRegistrationsEndWithOneItem() throws Exception {
        NodeId id = NodeId.of("agent-d");
        List<Thread> threads = new java.util.ArrayList<>();
        java.util.concurrent.ConcurrentLinkedQueue<Throwable> errors = new java.util.concurrent.ConcurrentLinkedQueue<>();
        for (int i = 0; i < 4; i++) {
            Thread t = Thread.ofVirtual().start(() -> {
                try {
                    new PoolRegistration(h.store, id, "10.40.3.21:3080").register();
                } catch (Throwable e) {
                    errors.add(e);
                }
            });
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join(60_000);
        }
        assertThat(errors).isEmpty();
        assertThat(h.store.listAgents(AgentState.IDLE)).extracting(ComputeAgent::id).containsExactly(id);
    }

    @Test
    void theAgentMainJoinsThePoolOnceItsApiListensAndLeavesItAtAStop() {
        java.util.Map<String, String> env = java.util.Map.of(ComputeAgentMain.PASSWORD_ENV, "pw",
                ComputeAgentMain.TABLE_ENV, h.controlPlane.table(),
                "STRATA_DYNAMODB_ENDPOINT", dynamo.endpoint().toString());
        ComputeAgentMain.Parsed parsed = ComputeAgentMain.parse(new String[]{"--data-dir", dir.resolve("agent").toString(),
                "--auth-public-keys", dir.resolve("unused.jwks").toString(), "--pageserver", "127.0.0.1:1",
                "--safekeeper", "sk-1=http://127.0.0.1:1", "--port", "0", "--agent-id", "agent-main"}, env);
        var verifier = new dev.strata.pgcore.auth.TokenVerifier(List.of(
                dev.strata.pgcore.auth.AuthKeys.generate().toPublicJWK()));
        NodeId id = NodeId.of("agent-main");
        try (ComputeAgentMain.Running running = ComputeAgentMain.start(parsed, verifier,
                dev.strata.pgcore.postgres.PostgresBinaries.resolve(), env)) {
            ComputeAgent item = h.agent(id);
            assertThat(item.state()).isEqualTo(AgentState.IDLE);
            assertThat(item.address()).isEqualTo("127.0.0.1:" + running.server().port());
        }
        assertThat(h.store.getAgent(id)).as("a clean stop leaves the pool").isEmpty();
    }
}
