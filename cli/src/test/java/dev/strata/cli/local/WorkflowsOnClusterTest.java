package dev.strata.cli.local;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strata.compute.agent.AgentServer;
import dev.strata.compute.agent.ComputeAgent;
import dev.strata.compute.config.ComputeNetwork;
import dev.strata.control.compute.AgentComputeProvisioner;
import dev.strata.control.local.LocalDynamo;
import dev.strata.control.metadata.DynamoClients;
import dev.strata.control.metadata.MetadataStore;
import dev.strata.control.metadata.MetadataTable;
import dev.strata.control.model.AgentState;
import dev.strata.control.model.Branch;
import dev.strata.control.model.BranchState;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationKind;
import dev.strata.control.model.OperationState;
import dev.strata.control.runtime.ControlPlane;
import dev.strata.control.service.StepIds;
import dev.strata.control.storage.BranchTarget;
import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.ProjectId;
import dev.strata.pgcore.postgres.PostgresBinaries;
import dev.strata.statemachines.ControlPlaneFunctions;
import dev.strata.statemachines.ExecutionResult;
import dev.strata.statemachines.ExecutionStatus;
import dev.strata.statemachines.LambdaHandlers;
import dev.strata.statemachines.LocalStepFunctions;
import dev.strata.statemachines.RunOptions;
import dev.strata.statemachines.Workflow;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control plane end to end on real parts: the AWS deployment's own workflow definitions on the
 * local ASL engine, the real handlers over dynalite, and behind the two seams the real
 * implementations — {@link AgentComputeProvisioner} driving two compute agents over their HTTP API,
 * and the cluster's {@link ClusterStorageControl} over its three safekeepers and pageserver. A
 * project is created, its endpoint woken, written, suspended and woken again with every row
 * there; a branch made by the create-branch workflow is woken on the second agent and sees the
 * parent's rows and only its own writes, then suspended and deleted with its timeline; main is restored to a
 * past time while its endpoint runs, and the restarted endpoint has exactly the rows of then.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class WorkflowsOnClusterTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final RunOptions OPTIONS = RunOptions.defaults().withTimeout(Duration.ofMinutes(3))
            .withRetryInterval(Duration.ofMillis(500));
    private static final String TABLE = "strata-e2e";

    @TempDir
    Path tmp;

    @Test
    void aProjectIsCreatedWokenSuspendedBranchedAndRestoredByTheWorkflows() throws Exception {
        List<AutoCloseable> agents = new ArrayList<>();
        try (LocalCluster c = LocalCluster.start(new ClusterLayout(tmp.resolve("cluster")),
                new LocalCluster.Options(0, false, Duration.ofSeconds(300)), s -> { });
             LocalDynamo dynamo = LocalDynamo.start(tmp.resolve("dynamo"));
             LocalStepFunctions engine = LocalStepFunctions.start()) {
            MetadataTable.createIfMissing(dynamo.client(), TABLE);
            Map<NodeId, String> pool = new LinkedHashMap<>();
            for (String name : List.of("agent-1", "agent-2")) {
                ComputeAgent agent = new ComputeAgent(new ComputeAgent.Config(tmp.resolve(name), "127.0.0.1",
                        c.pageserver().pageServicePort(), c.members(), 0, LocalCluster.DB_USER, c.dbPassword(),
                        ComputeNetwork.LOOPBACK, Map.of(), Duration.ofSeconds(60)), PostgresBinaries.resolve());
                AgentServer server = AgentServer.start(agent, c.auth().verifier(), "127.0.0.1", 0);
                agents.add(agent);
                agents.add(server);
                pool.put(NodeId.of(name), "127.0.0.1:" + server.port());
            }
            AgentComputeProvisioner compute = new AgentComputeProvisioner(new AgentComputeProvisioner.AgentLauncher() {
                @Override
                public String launch(NodeId id) {
                    throw new IllegalStateException("the test's pool has two agents; none is launched on demand");
                }

                @Override
                public void retire(dev.strata.control.model.ComputeAgent agent) {
                    throw new IllegalStateException("no agent is retired in this test");
                }
            }, c.auth().issuer(), Clock.systemUTC(), Duration.ofSeconds(120));
            try (ControlPlane cp = ControlPlane.create(() -> DynamoClients.local(dynamo.endpoint()), TABLE, compute,
                    c.storageControl(), Clock.systemUTC())) {
                MetadataStore store = cp.metadata();
                pool.forEach((id, address) -> store.registerAgent(dev.strata.control.model.ComputeAgent.idle(id, address)));
                LambdaHandlers functions = ControlPlaneFunctions.on(cp);
                Flow flow = new Flow(engine, functions, store);

                // create-project: records, the timeline on the pageserver and every safekeeper, the endpoint
                ProjectId project = ProjectId.of("p-e2e");
                OperationId created = flow.schedule(project, OperationKind.CREATE_PROJECT, Optional.empty(), Optional.empty());
                flow.run(Workflow.CREATE_PROJECT, created, Map.of("operationId", created.toString(), "projectId",
                        project.toString(), "name", "e2e", "pgVersion", 17, "recoversExecution", ""));
                Branch main = store.getBranchByName(project, "main").orElseThrow();
                assertThat(main.state()).isEqualTo(BranchState.READY);
                assertThat(c.pageserver().hasTimeline(main.timeline())).isTrue();
                assertThat(c.safekeepers()).allSatisfy(sk -> assertThat(sk.positions(main.timeline()).flush().isValid()).isTrue());
                Endpoint ep = store.listEndpoints(project).getFirst();
                assertThat(ep.state()).isEqualTo(EndpointState.SUSPENDED);

                // wake, write through the quorum, suspend, wake again: every acknowledged row is there
                Endpoint running = flow.wake(project, main.id(), ep.id());
                Instant after300;
                try (Connection conn = connect(running, c.dbPassword()); Statement s = conn.createStatement()) {
                    s.execute("CREATE TABLE t (v int)");
                    s.execute("INSERT INTO t SELECT generate_series(1, 300)");
                    try (ResultSet r = s.executeQuery("SELECT clock_timestamp()")) {
                        r.next();
                        after300 = r.getTimestamp(1).toInstant();
                    }
                    Thread.sleep(20); // the next commit's timestamp is strictly after it
                }
                flow.suspend(project, ep.id(), running.agent().orElseThrow());
                assertThat(store.getEndpoint(ep.id()).orElseThrow().state()).isEqualTo(EndpointState.SUSPENDED);
                assertThat(store.getAgent(running.agent().orElseThrow()).orElseThrow().state()).isEqualTo(AgentState.IDLE);

                Endpoint again = flow.wake(project, main.id(), ep.id());
                try (Connection conn = connect(again, c.dbPassword()); Statement s = conn.createStatement()) {
                    assertThat(count(s)).isEqualTo(300);
                    s.execute("INSERT INTO t SELECT generate_series(301, 320)");
                }

                // create-branch at the head, with its endpoint; woken on the other agent
                OperationId branched = flow.schedule(project, OperationKind.CREATE_BRANCH, Optional.of(main.id()),
                        Optional.empty());
                Map<String, Object> in = new LinkedHashMap<>();
                in.put("operationId", branched.toString());
                in.put("projectId", project.toString());
                in.put("name", "dev");
                in.put("parentBranchId", main.id().toString());
                in.put("target", new BranchTarget.Head().toJson());
                in.put("createEndpoint", true);
                in.put("recoversExecution", "");
                flow.run(Workflow.CREATE_BRANCH, branched, in);
                Branch dev = store.getBranchByName(project, "dev").orElseThrow();
                assertThat(dev.parent()).contains(main.id());
                EndpointId devEndpoint = StepIds.branchEndpoint(branched);
                Endpoint devRunning = flow.wake(project, dev.id(), devEndpoint);
                assertThat(devRunning.agent()).isNotEqualTo(again.agent());
                try (Connection conn = connect(devRunning, c.dbPassword()); Statement s = conn.createStatement()) {
                    assertThat(count(s)).as("the parent's rows at the branch point").isEqualTo(320);
                    s.execute("INSERT INTO t SELECT generate_series(1, 5)");
                    assertThat(count(s)).isEqualTo(325);
                }
                try (Connection conn = connect(again, c.dbPassword()); Statement s = conn.createStatement()) {
                    assertThat(count(s)).as("the branch's writes stay on the branch").isEqualTo(320);
                }

                // delete-branch (of a suspended branch) removes its endpoint and its timeline everywhere
                flow.suspend(project, devEndpoint, devRunning.agent().orElseThrow());
                OperationId deleted = flow.schedule(project, OperationKind.DELETE_BRANCH, Optional.of(dev.id()),
                        Optional.empty());
                flow.run(Workflow.DELETE_BRANCH, deleted, Map.of("operationId", deleted.toString(), "projectId",
                        project.toString(), "branchId", dev.id().toString(), "recoversExecution", ""));
                assertThat(store.getBranchByName(project, "dev")).isEmpty();
                assertThat(c.pageserver().hasTimeline(dev.timeline())).isFalse();
                assertThat(store.getAgent(devRunning.agent().orElseThrow()).orElseThrow().state()).isEqualTo(AgentState.IDLE);

                // restore main to the time after the first 300 rows, while its endpoint runs
                OperationId restored = flow.schedule(project, OperationKind.RESTORE_BRANCH, Optional.of(main.id()),
                        Optional.of(ep.id()));
                flow.run(Workflow.RESTORE, restored, Map.of("operationId", restored.toString(), "projectId",
                        project.toString(), "branchId", main.id().toString(), "sourceBranchId", main.id().toString(),
                        "target", new BranchTarget.AtTime(after300).toJson(), "recoversExecution", ""));
                Branch mainNow = store.getBranch(project, main.id()).orElseThrow();
                assertThat(mainNow.timeline()).isNotEqualTo(main.timeline());
                assertThat(store.listBranches(project)).extracting(Branch::timeline).contains(main.timeline());
                Endpoint restarted = store.getEndpoint(ep.id()).orElseThrow();
                assertThat(restarted.state()).isEqualTo(EndpointState.RUNNING);
                try (Connection conn = connect(restarted, c.dbPassword()); Statement s = conn.createStatement()) {
                    assertThat(count(s)).as("main as of the time after the first 300 rows").isEqualTo(300);
                }
                flow.suspend(project, ep.id(), restarted.agent().orElseThrow());
                assertThat(store.listOperations(project)).extracting(Operation::state).containsOnly(OperationState.SUCCEEDED);
            }
        } finally {
            for (AutoCloseable a : agents.reversed()) {
                a.close();
            }
        }
    }

    /** Schedules operations as the API will, and runs their workflows to success. */
    private record Flow(LocalStepFunctions engine, LambdaHandlers functions, MetadataStore store) {

        OperationId schedule(ProjectId project, OperationKind kind, Optional<BranchId> branch, Optional<EndpointId> endpoint) {
            OperationId id = OperationId.random();
            store.createOperation(Operation.schedule(id, project, kind, branch, endpoint, Instant.now()));
            return id;
        }

        ExecutionResult run(Workflow w, OperationId op, Map<String, Object> input) throws Exception {
            ExecutionResult r = engine.run(w, JSON.writeValueAsString(input), functions, OPTIONS);
            assertThat(r.status()).as(w + ": " + r.error() + ": " + r.cause()).isEqualTo(ExecutionStatus.SUCCEEDED);
            assertThat(store.getOperation(op).orElseThrow().state()).isEqualTo(OperationState.SUCCEEDED);
            return r;
        }

        Endpoint wake(ProjectId project, BranchId branch, EndpointId endpoint) throws Exception {
            OperationId op = schedule(project, OperationKind.START_COMPUTE, Optional.of(branch), Optional.of(endpoint));
            run(Workflow.WAKE, op, Map.of("operationId", op.toString(), "endpointId", endpoint.toString(), "projectId",
                    project.toString(), "branchId", branch.toString(), "recoversExecution", ""));
            Endpoint e = store.getEndpoint(endpoint).orElseThrow();
            assertThat(e.state()).isEqualTo(EndpointState.RUNNING);
            return e;
        }

        void suspend(ProjectId project, EndpointId endpoint, NodeId agent) throws Exception {
            OperationId op = schedule(project, OperationKind.SUSPEND_COMPUTE, Optional.empty(), Optional.of(endpoint));
            run(Workflow.SUSPEND, op, Map.of("operationId", op.toString(), "endpointId", endpoint.toString(),
                    "agentId", agent.toString(), "recoversExecution", ""));
        }
    }

    private static Connection connect(Endpoint e, String password) throws Exception {
        Properties p = new Properties();
        p.setProperty("user", LocalCluster.DB_USER);
        p.setProperty("password", password);
        p.setProperty("connectTimeout", "30");
        p.setProperty("socketTimeout", "60");
        return DriverManager.getConnection("jdbc:postgresql://" + e.address().orElseThrow() + "/postgres", p);
    }

    private static long count(Statement s) throws Exception {
        try (ResultSet r = s.executeQuery("SELECT count(*) FROM t")) {
            r.next();
            return r.getLong(1);
        }
    }
}
