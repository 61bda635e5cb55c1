package dev.strata.control.service;

import dev.strata.control.StepFailedException;
import dev.strata.control.metadata.MetadataException;
import dev.strata.control.metadata.MetadataStore;
import dev.strata.control.model.Branch;
import dev.strata.control.model.BranchState;
import dev.strata.control.model.ComputeSettings;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationKind;
import dev.strata.control.model.Project;
import dev.strata.control.storage.StorageControl;
import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.ProjectId;
import dev.strata.pgcore.id.TimelineId;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The steps of the create-project workflow and its compensations. The ids it creates (main branch,
 * timeline, default endpoint) are derived from the operation id ({@link StepIds}) and the project's
 * creation time is the operation's, so a replayed step writes the same records and the store's
 * idempotent create returns them.
 */
public final class ProjectSteps {

    /** The Postgres major version a project can be created with. */
    public static final int PG_VERSION = 17;
    public static final String MAIN_BRANCH = "main";
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofMinutes(5);

    private final MetadataStore store;
    private final Operations operations;
    private final Supplier<StorageControl> storage;

    public ProjectSteps(MetadataStore store, Operations operations, Supplier<StorageControl> storage) {
        this.store = Objects.requireNonNull(store, "store is null");
        this.operations = Objects.requireNonNull(operations, "operations is null");
        this.storage = Objects.requireNonNull(storage, "storage is null");
    }

    /** What CreateProjectRecord made: the main branch and its timeline. */
    public record Created(BranchId branch, TimelineId timeline) {
    }

    /**
     * CreateProjectRecord: marks the operation RUNNING as {@code executionArn} (taking it over from
     * the dead execution {@code recovers}, docs/control-plane.md#crash-recovery), creates the project
     * (created at the operation's creation time) and its main branch, CREATING, on a new timeline.
     * A project of that id made by anything else is refused; so is a recovery after the compensation
     * marked the main branch DELETING (the operation is then recorded as failed, nothing is undone).
     */
    public Created createProjectRecord(OperationId opId, ProjectId projectId, String name, int pgVersion,
                                       String executionArn, Optional<String> recovers) {
        if (pgVersion != PG_VERSION) {
            throw new StepFailedException("Postgres " + pgVersion + " is not supported: only " + PG_VERSION);
        }
        Operation op = operations.start(opId, Set.of(OperationKind.CREATE_PROJECT), executionArn, recovers);
        requireProject(op, projectId);
        try {
            store.createProject(Project.create(projectId, name, op.createdAt()));
        } catch (MetadataException.AlreadyExists e) {
            throw new StepFailedException("project " + projectId + " already exists", e);
        }
        Created c = new Created(StepIds.mainBranch(opId), StepIds.mainTimeline(opId));
        Optional<Branch> existing = store.getBranch(projectId, c.branch());
        if (existing.isPresent() && existing.get().state() == BranchState.DELETING) {
            throw new StepFailedException("project " + projectId + " was compensated by operation " + opId
                    + ": its main branch is being deleted");
        }
        store.createBranch(Branch.root(projectId, c.branch(), MAIN_BRANCH, c.timeline()));
        return c;
    }

    /** CreateTimeline: the main branch's timeline on the pageserver and safekeepers. */
    public TimelineId createTimeline(OperationId opId, ProjectId projectId, BranchId branchId, TimelineId timeline,
                                     int pgVersion) {
        requireProject(operations.require(opId, OperationKind.CREATE_PROJECT), projectId);
        Branch b = store.getBranch(projectId, branchId).orElseThrow(
                () -> new StepFailedException("branch " + branchId + " of " + projectId + " does not exist"));
        if (!b.timeline().equals(timeline)) {
            throw new StepFailedException("branch " + branchId + " is on timeline " + b.timeline() + ", not " + timeline);
        }
        storage.get().createTimeline(timeline, pgVersion);
        return timeline;
    }

    /** CreateEndpoint: the main branch's default endpoint, SUSPENDED. */
    public Endpoint createEndpoint(OperationId opId, ProjectId projectId, BranchId branchId) {
        requireProject(operations.require(opId, OperationKind.CREATE_PROJECT), projectId);
        return store.createEndpoint(Endpoint.create(StepIds.defaultEndpoint(opId), projectId, branchId,
                ComputeSettings.DEFAULT, DEFAULT_IDLE_TIMEOUT));
    }

    /** ActivateProject: the main branch CREATING -> READY, then the operation SUCCEEDED. */
    public Branch activateProject(OperationId opId, ProjectId projectId, BranchId branchId) {
        Operation op = operations.require(opId, OperationKind.CREATE_PROJECT);
        requireProject(op, projectId);
        Branch b = store.getBranch(projectId, branchId).orElseThrow(
                () -> new StepFailedException("branch " + branchId + " of " + projectId + " does not exist"));
        Branch ready = b.state() == BranchState.READY ? b : store.updateBranch(b, b.withState(BranchState.READY));
        operations.succeed(op);
        return ready;
    }

    /** DeleteTimeline (compensation): the timeline deleted everywhere; deleting a missing one succeeds. */
    public void deleteTimeline(OperationId opId, ProjectId projectId, TimelineId timeline) {
        requireProject(operations.require(opId, OperationKind.CREATE_PROJECT), projectId);
        if (!StepIds.mainTimeline(opId).equals(timeline)) {
            throw new StepFailedException("timeline " + timeline + " was not created by operation " + opId);
        }
        storage.get().deleteTimeline(timeline);
    }

    /**
     * MarkProjectFailed (compensation): the default endpoint this operation created is deleted and the
     * main branch goes CREATING -> DELETING, so the project is listed with nothing usable and can be
     * deleted; the operation's error is recorded by RecordFailure. Returns the branch's state.
     */
    public BranchState markProjectFailed(OperationId opId, ProjectId projectId) {
        requireProject(operations.require(opId, OperationKind.CREATE_PROJECT), projectId);
        EndpointId endpointId = StepIds.defaultEndpoint(opId);
        Optional<Endpoint> ep = store.getEndpoint(endpointId);
        if (ep.isPresent() && ep.get().state() == EndpointState.SUSPENDED) {
            try {
                store.deleteEndpoint(ep.get());
            } catch (MetadataException.NotFound gone) {
                // a replay: deleted already
            }
        }
        Optional<Branch> b = store.getBranch(projectId, StepIds.mainBranch(opId));
        if (b.isEmpty()) {
            throw new StepFailedException("branch " + StepIds.mainBranch(opId) + " of " + projectId + " does not exist");
        }
        Branch branch = b.get();
        if (branch.state() == BranchState.CREATING) {
            branch = store.updateBranch(branch, branch.withState(BranchState.DELETING));
        }
        return branch.state();
    }

    private static void requireProject(Operation op, ProjectId projectId) {
        if (!op.project().equals(projectId)) {
            throw new StepFailedException("operation " + op.id() + " is for project " + op.project() + ", not "
                    + projectId);
        }
    }
}
