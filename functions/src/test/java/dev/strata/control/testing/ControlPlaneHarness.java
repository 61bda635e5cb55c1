package dev.strata.control.testing;

import dev.strata.control.local.LocalDynamo;
import dev.strata.control.metadata.DynamoClients;
import dev.strata.control.metadata.MetadataStore;
import dev.strata.control.metadata.MetadataTable;
import dev.strata.control.model.Branch;
import dev.strata.control.model.BranchState;
import dev.strata.control.model.ComputeAgent;
import dev.strata.control.model.ComputeSettings;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationKind;
import dev.strata.control.model.Project;
import dev.strata.control.runtime.ControlPlane;
import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.ProjectId;
import dev.strata.pgcore.id.TimelineId;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A control plane for one test on real dynalite: a fresh metadata table, the recording compute and
 * storage seams, and seeds for the items a workflow starts from (a project with a READY branch, a
 * SUSPENDED endpoint, idle agents, a SCHEDULED operation).
 */
public final class ControlPlaneHarness implements AutoCloseable {

    private static final AtomicInteger TABLES = new AtomicInteger();

    public final RecordingCompute compute = new RecordingCompute();
    public final RecordingStorage storage = new RecordingStorage();
    public final ControlPlane controlPlane;
    public final MetadataStore store;

    private ControlPlaneHarness(LocalDynamo dynamo, String table) {
        MetadataTable.createIfMissing(dynamo.client(), table);
        controlPlane = ControlPlane.create(() -> DynamoClients.local(dynamo.endpoint()), table, compute, storage, Clock.systemUTC());
        store = controlPlane.metadata();
    }

    /** A harness on a table of its own in {@code dynamo}. */
    public static ControlPlaneHarness on(LocalDynamo dynamo) {
        return new ControlPlaneHarness(dynamo, "strata-test-" + TABLES.incrementAndGet());
    }

    public Project project(ProjectId id) {
        return store.createProject(Project.create(id, "project " + id, Clock.systemUTC().instant()));
    }

    public Branch readyBranch(ProjectId project, BranchId id, TimelineId timeline) {
        Branch b = store.createBranch(Branch.root(project, id, "main", timeline));
        return store.updateBranch(b, b.withState(BranchState.READY));
    }

    public Endpoint endpoint(ProjectId project, BranchId branch, EndpointId id) {
        return store.createEndpoint(Endpoint.create(id, project, branch, ComputeSettings.DEFAULT,
                Duration.ofMinutes(5)));
    }

    public ComputeAgent idleAgent(NodeId id) {
        return store.registerAgent(ComputeAgent.idle(id, "127.0.0.1:7" + (Math.abs(id.hashCode()) % 1000)));
    }

    /** A SCHEDULED operation on an endpoint (wake, suspend). */
    public Operation schedule(OperationId id, OperationKind kind, ProjectId project, EndpointId endpoint) {
        return store.createOperation(Operation.schedule(id, project, kind, Optional.empty(), Optional.of(endpoint),
                Clock.systemUTC().instant()));
    }

    /** A SCHEDULED operation on a project (create-project). */
    public Operation schedule(OperationId id, OperationKind kind, ProjectId project) {
        return store.createOperation(Operation.schedule(id, project, kind, Optional.empty(), Optional.empty(),
                Clock.systemUTC().instant()));
    }

    public Operation operation(OperationId id) {
        return store.getOperation(id).orElseThrow();
    }

    public Endpoint endpoint(EndpointId id) {
        return store.getEndpoint(id).orElseThrow();
    }

    public ComputeAgent agent(NodeId id) {
        return store.getAgent(id).orElseThrow();
    }

    /** Opens every gate of the seams and closes the control plane's client. */
    @Override
    public void close() {
        compute.faults().openAll();
        storage.faults().openAll();
        controlPlane.close();
    }
}
