package dev.strata.cli.local;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strata.compute.agent.AgentServer;
import dev.strata.compute.agent.ComputeAgent;
import dev.strata.compute.config.ComputeNetwork;
import dev.strata.control.compute.AgentComputeProvisioner;
import dev.strata.control.compute.ComputeProvisioner;
import dev.strata.control.local.LocalDynamo;
import dev.strata.control.metadata.DynamoClients;
import dev.strata.control.metadata.MetadataStore;
import dev.strata.control.metadata.MetadataTable;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationKind;
import dev.strata.control.model.OperationState;
import dev.strata.control.runtime.ControlPlane;
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
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.function.UnaryOperator;

/**
 * Test helpers over {@link ClusterControlPlane#forTests}: the control plane as the AWS deployment
 * runs it, beside a {@link LocalCluster} (its own dynalite, the local ASL engine with the real
 * handlers, compute agents in this JVM). Schedules operations as the API does and runs their
 * workflows to success (tests, {@code WorkflowWakeBench}).
 */
public final class LocalControlPlane implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final RunOptions OPTIONS = ClusterControlPlane.RUN_OPTIONS;

    private final LocalCluster cluster;
    private final ClusterControlPlane controlPlane;

    private LocalControlPlane(LocalCluster cluster, ClusterControlPlane controlPlane) {
        this.cluster = cluster;
        this.controlPlane = controlPlane;
    }

    /** {@code agents} agents under {@code dir}; {@code wrap} may decorate the provisioner (a bench's timer). */
    public static LocalControlPlane start(LocalCluster cluster, Path dir, int agents, UnaryOperator<ComputeProvisioner> wrap) {
        return new LocalControlPlane(cluster, ClusterControlPlane.forTests(cluster, dir, agents, wrap));
    }

    public MetadataStore store() {
        return controlPlane.store();
    }

    /** The local ASL engine the workflows run on (a control-plane API's launcher runs on it too). */
    public LocalStepFunctions engine() {
        return controlPlane.engine();
    }

    /** The Task states' routing to the real handlers on this control plane. */
    public LambdaHandlers functions() {
        return controlPlane.functions();
    }

    public ComputeAgent agent(NodeId id) {
        return controlPlane.agent(id);
    }

    public OperationId schedule(ProjectId project, OperationKind kind, Optional<BranchId> branch,
                                Optional<EndpointId> endpoint) {
        OperationId id = OperationId.random();
        store().createOperation(Operation.schedule(id, project, kind, branch, endpoint, Instant.now()));
        return id;
    }

    /** Runs {@code w} for {@code op}; both the execution and the operation must succeed. */
    public ExecutionResult run(Workflow w, OperationId op, Map<String, Object> input) throws Exception {
        ExecutionResult r = engine().run(w, JSON.writeValueAsString(input), functions(), OPTIONS);
        assertThat(r.status()).as(w + ": " + r.error() + ": " + r.cause()).isEqualTo(ExecutionStatus.SUCCEEDED);
        assertThat(store().getOperation(op).orElseThrow().state()).isEqualTo(OperationState.SUCCEEDED);
        return r;
    }

    public OperationId createProject(ProjectId project) throws Exception {
        OperationId op = schedule(project, OperationKind.CREATE_PROJECT, Optional.empty(), Optional.empty());
        run(Workflow.CREATE_PROJECT, op, Map.of("operationId", op.toString(), "projectId", project.toString(), "name",
                project.toString(), "pgVersion", 17, "recoversExecution", ""));
        return op;
    }

    /** Wakes the endpoint; returns it RUNNING, with its address. */
    public Endpoint wake(ProjectId project, BranchId branch, EndpointId endpoint) throws Exception {
        OperationId op = schedule(project, OperationKind.START_COMPUTE, Optional.of(branch), Optional.of(endpoint));
        run(Workflow.WAKE, op, Map.of("operationId", op.toString(), "endpointId", endpoint.toString(), "projectId",
                project.toString(), "branchId", branch.toString(), "recoversExecution", ""));
        Endpoint e = store().getEndpoint(endpoint).orElseThrow();
        assertThat(e.state()).isEqualTo(EndpointState.RUNNING);
        return e;
    }

    public void suspend(ProjectId project, EndpointId endpoint, NodeId agent) throws Exception {
        OperationId op = schedule(project, OperationKind.SUSPEND_COMPUTE, Optional.empty(), Optional.of(endpoint));
        run(Workflow.SUSPEND, op, Map.of("operationId", op.toString(), "endpointId", endpoint.toString(), "agentId",
                agent.toString(), "recoversExecution", ""));
    }

    public OperationId createBranch(ProjectId project, BranchId parent, String name, BranchTarget target,
                                    boolean endpoint) throws Exception {
        OperationId op = schedule(project, OperationKind.CREATE_BRANCH, Optional.of(parent), Optional.empty());
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("operationId", op.toString());
        in.put("projectId", project.toString());
        in.put("name", name);
        in.put("parentBranchId", parent.toString());
        in.put("target", target.toJson());
        in.put("createEndpoint", endpoint);
        in.put("recoversExecution", "");
        run(Workflow.CREATE_BRANCH, op, in);
        return op;
    }

    public void deleteBranch(ProjectId project, BranchId branch) throws Exception {
        OperationId op = schedule(project, OperationKind.DELETE_BRANCH, Optional.of(branch), Optional.empty());
        run(Workflow.DELETE_BRANCH, op, Map.of("operationId", op.toString(), "projectId", project.toString(),
                "branchId", branch.toString(), "recoversExecution", ""));
    }

    /** Restores {@code branch} to {@code target}, restarting {@code endpoint} if it runs. */
    public void restore(ProjectId project, BranchId branch, EndpointId endpoint, BranchTarget target) throws Exception {
        OperationId op = schedule(project, OperationKind.RESTORE_BRANCH, Optional.of(branch), Optional.of(endpoint));
        run(Workflow.RESTORE, op, Map.of("operationId", op.toString(), "projectId", project.toString(), "branchId",
                branch.toString(), "sourceBranchId", branch.toString(), "target", target.toJson(),
                "recoversExecution", ""));
    }

    /** A JDBC connection to a running endpoint's compute, as the proxy would reach it. */
    public Connection connect(Endpoint running) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", LocalCluster.DB_USER);
        p.setProperty("password", cluster.dbPassword());
        p.setProperty("connectTimeout", "30");
        p.setProperty("socketTimeout", "600");
        return DriverManager.getConnection("jdbc:postgresql://" + running.address().orElseThrow() + "/postgres", p);
    }

    @Override
    public void close() {
        controlPlane.close();
    }
}
