package dev.strata.control.service;

import dev.strata.control.StepFailedException;
import dev.strata.control.TransientStepException;
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
import dev.strata.control.model.Names;
import dev.strata.control.storage.BranchTarget;
import dev.strata.control.storage.StorageControl;
import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.ProjectId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * The steps of the create-branch, delete-branch and restore workflows and their compensations
 * (docs/control-plane.md#branches-and-restore). The ids they create (the new branch, the child
 * timeline, the backup branch, the branch's endpoint) come from the operation id ({@link StepIds}),
 * and the backup branch's name from the operation's creation time, so a replayed step, a compensation
 * or a recovering execution names the same items.
 *
 * <p>The branch tree is protected by the parent's version: creating a child writes the child, then
 * rewrites its parent (READY, one conditional write that bumps the version); deleting or restoring a
 * branch reads it, lists its children and writes it under the version it read. Whichever write comes
 * second sees the other: a delete (restore) whose write wins makes the child's creation fail and
 * compensate; a child whose write wins makes the delete (restore) retry, list again and refuse.
 */
public final class BranchSteps {

    private static final Set<OperationKind> NEW_TIMELINE = Set.of(OperationKind.CREATE_BRANCH,
            OperationKind.RESTORE_BRANCH);
    private static final Set<OperationKind> DELETES_TIMELINE = Set.of(OperationKind.CREATE_BRANCH,
            OperationKind.RESTORE_BRANCH, OperationKind.DELETE_BRANCH);

    private final MetadataStore store;
    private final Operations operations;
    private final Supplier<StorageControl> storage;

    public BranchSteps(MetadataStore store, Operations operations, Supplier<StorageControl> storage) {
        this.store = Objects.requireNonNull(store, "store is null");
        this.operations = Objects.requireNonNull(operations, "operations is null");
        this.storage = Objects.requireNonNull(storage, "storage is null");
    }

    /** What CreateBranchRecord made: the branch, its timeline, and where it branches from. */
    public record BranchCreated(BranchId branch, TimelineId timeline, TimelineId parentTimeline, Lsn lsn) {
    }

    /** What the restart (or stop) of an endpoint has left to do. */
    public enum Phase {
        /** Nothing: no endpoint, or it is suspended (its next wake reads the branch as it is now). */
        NONE,
        /** Stop it (the suspend steps), then, for a restore, wake it. */
        SUSPEND,
        /** Wake it (a restore whose suspend already ran). */
        WAKE;

        public String json() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** The endpoint step plan: the phase and, unless NONE, the endpoint and (for SUSPEND) its agent. */
    public record EndpointPlan(Phase phase, Optional<EndpointId> endpoint, Optional<NodeId> agent) {
        static final EndpointPlan NOTHING = new EndpointPlan(Phase.NONE, Optional.empty(), Optional.empty());
    }

    /** What BeginRestore decided: where the new timeline branches from, and the backup branch. */
    public record RestorePlan(TimelineId sourceTimeline, Lsn lsn, TimelineId timeline, BranchId backup,
                              String backupName) {
    }

    // ---------------------------------------------------------------- create-branch

    /**
     * CreateBranchRecord: the operation RUNNING as {@code executionArn} (or taken over from the dead
     * execution {@code recovers}); the branch point resolved on the parent's timeline (a time outside
     * its history fails with {@link dev.strata.control.BranchPointException}); the branch CREATING
     * with its name claimed; the parent rewritten (READY) so a concurrent delete or restore of it
     * notices. A replay returns the branch it wrote, with the LSN it recorded.
     */
    public BranchCreated createBranchRecord(OperationId opId, ProjectId projectId, String name, BranchId parentId,
                                            BranchTarget target, String executionArn, Optional<String> recovers) {
        Operation op = operations.start(opId, Set.of(OperationKind.CREATE_BRANCH), executionArn, recovers);
        requireProject(op, projectId);
        BranchId id = StepIds.newBranch(opId);
        Branch parent = branch(projectId, parentId);
        Optional<Branch> existing = store.getBranch(projectId, id);
        Branch b;
        if (existing.isPresent()) {
            b = existing.get();
        } else {
            requireReady(parent);
            Lsn lsn = storage.get().resolveBranchPoint(parent.timeline(), target);
            try {
                b = store.createBranch(Branch.child(projectId, id, name, StepIds.childTimeline(opId), parentId, lsn));
            } catch (MetadataException.AlreadyExists e) {
                throw new StepFailedException(e.getMessage(), e);
            }
        }
        touchParent(projectId, parentId, parent.timeline());
        return new BranchCreated(b.id(), b.timeline(), parent.timeline(), b.branchLsn().orElseThrow());
    }

    /**
     * The parent rewritten, READY and still on {@code resolvedOn} (a restore repointing it between the
     * resolution and this write fails the creation), under the version read: the child exists before
     * this write.
     */
    private void touchParent(ProjectId projectId, BranchId parentId, TimelineId resolvedOn) {
        Branch p = branch(projectId, parentId);
        requireReady(p);
        if (!p.timeline().equals(resolvedOn)) {
            throw new StepFailedException("branch '" + p.name() + "' was restored while the branch was being created "
                    + "(it moved from timeline " + resolvedOn + " to " + p.timeline() + "); create the branch again");
        }
        store.updateBranch(p, p);
    }

    /**
     * CreateBranchTimeline (create-branch, restore): the child timeline the operation names, a branch of
     * {@code parentTimeline} at {@code lsn}, on the pageserver and the safekeepers (idempotent).
     */
    public TimelineId createBranchTimeline(OperationId opId, ProjectId projectId, TimelineId timeline,
                                           TimelineId parentTimeline, Lsn lsn) {
        requireProject(operations.require(opId, NEW_TIMELINE), projectId);
        if (!timeline.equals(StepIds.childTimeline(opId))) {
            throw new StepFailedException("timeline " + timeline + " is not the one operation " + opId + " creates");
        }
        storage.get().createBranchTimeline(timeline, parentTimeline, lsn);
        return timeline;
    }

    /**
     * ActivateBranch: the branch's endpoint (SUSPENDED) if asked for, the branch CREATING -> READY, the
     * operation SUCCEEDED.
     */
    public Activated activateBranch(OperationId opId, ProjectId projectId, BranchId branchId, boolean withEndpoint) {
        Operation op = operations.require(opId, OperationKind.CREATE_BRANCH);
        requireProject(op, projectId);
        if (!branchId.equals(StepIds.newBranch(opId))) {
            throw new StepFailedException("branch " + branchId + " is not the one operation " + opId + " creates");
        }
        Branch b = branch(projectId, branchId);
        Optional<EndpointId> ep = Optional.empty();
        if (withEndpoint) {
            ep = Optional.of(store.createEndpoint(Endpoint.create(StepIds.branchEndpoint(opId), projectId, branchId,
                    ComputeSettings.DEFAULT, ProjectSteps.DEFAULT_IDLE_TIMEOUT)).id());
        }
        Branch ready = b.state() == BranchState.READY ? b : store.updateBranch(b, b.withState(BranchState.READY));
        operations.succeed(op);
        return new Activated(ready, ep);
    }

    /** What ActivateBranch left: the READY branch and its endpoint, if one was made. */
    public record Activated(Branch branch, Optional<EndpointId> endpoint) {
    }

    /**
     * DiscardBranch (create-branch compensation): the endpoint it made (if SUSPENDED), the branch it
     * made (CREATING or READY -> DELETING, deleted), its name claim ({@code name}, released only if this
     * operation's branch holds it: a crash between the claim and the branch leaves a claim alone).
     * Nothing is touched unless the operation runs as {@code executionArn}: a duplicate execution that
     * failed to start the operation must not undo the one that runs it. Returns whether a branch item
     * was removed. Returns {@code discarded}, or {@code not-running} when it left everything alone.
     */
    public String discardBranch(OperationId opId, ProjectId projectId, String name, String executionArn) {
        Operation op = operations.require(opId, OperationKind.CREATE_BRANCH);
        requireProject(op, projectId);
        if (!op.executionArn().equals(Optional.of(executionArn))) {
            return "not-running";
        }
        BranchId id = StepIds.newBranch(opId);
        store.getEndpoint(StepIds.branchEndpoint(opId)).filter(e -> e.state() == EndpointState.SUSPENDED)
                .ifPresent(this::deleteEndpointQuietly);
        store.releaseBranchName(projectId, name, id);
        removeBranch(projectId, id);
        return "discarded";
    }

    // ---------------------------------------------------------------- delete-branch

    /**
     * BeginBranchDelete: the operation RUNNING; refused while the branch has children (the message
     * names them) or is being created; READY -> DELETING under the version read with the children
     * listing; then what its endpoint needs (stop it if running). A DELETING branch (a retried
     * delete) goes on.
     */
    public EndpointPlan beginBranchDelete(OperationId opId, ProjectId projectId, BranchId branchId,
                                          String executionArn, Optional<String> recovers) {
        Operation op = operations.start(opId, Set.of(OperationKind.DELETE_BRANCH), executionArn, recovers);
        requireProject(op, projectId);
        requireBranchTarget(op, branchId);
        Branch b = branch(projectId, branchId);
        switch (b.state()) {
            case CREATING -> throw new StepFailedException("branch '" + b.name() + "' (" + b.id()
                    + ") is being created; delete it when its creation has finished or failed");
            case READY -> {
                refuseIfChildren(b, "deleted");
                store.updateBranch(b, b.withState(BranchState.DELETING));
            }
            case DELETING -> { }
        }
        return planEndpoint(op, false);
    }

    /**
     * DeleteBranchRecord (delete-branch's last step): the branch's endpoints (each must be SUSPENDED),
     * its name released, its item deleted, the operation SUCCEEDED.
     */
    public void deleteBranchRecord(OperationId opId, ProjectId projectId, BranchId branchId) {
        Operation op = operations.require(opId, OperationKind.DELETE_BRANCH);
        requireProject(op, projectId);
        requireBranchTarget(op, branchId);
        for (Endpoint e : store.listEndpoints(projectId)) {
            if (!e.branch().equals(branchId)) {
                continue;
            }
            if (e.state() != EndpointState.SUSPENDED) {
                throw new StepFailedException("endpoint " + e.id() + " of branch " + branchId + " is " + e.state()
                        + "; it must be suspended before its branch is deleted");
            }
            deleteEndpointQuietly(e);
        }
        Optional<Branch> b = store.getBranch(projectId, branchId);
        if (b.isPresent()) {
            if (b.get().state() != BranchState.DELETING) {
                throw new StepFailedException("branch " + branchId + " is " + b.get().state() + ", not DELETING");
            }
            // the claim first: a crash after it leaves a DELETING branch that the retry deletes
            store.releaseBranchName(projectId, b.get().name(), branchId);
            removeBranch(projectId, branchId);
        }
        operations.succeed(op);
    }

    // ---------------------------------------------------------------- restore

    /**
     * BeginRestore: the operation RUNNING; refused while the branch has children; the point resolved
     * on the source's timeline (the branch's own current one unless restoring from another branch, as
     * an undo restores from the backup). Replayed after the repoint, the point is the one the restored
     * branch records and the source the backup's timeline.
     */
    public RestorePlan beginRestore(OperationId opId, ProjectId projectId, BranchId branchId, BranchId sourceId,
                                    BranchTarget target, String executionArn, Optional<String> recovers) {
        Operation op = operations.start(opId, Set.of(OperationKind.RESTORE_BRANCH), executionArn, recovers);
        requireProject(op, projectId);
        requireBranchTarget(op, branchId);
        Branch b = branch(projectId, branchId);
        TimelineId newTimeline = StepIds.childTimeline(opId);
        BranchId backupId = StepIds.backupBranch(opId);
        String backupName = backupName(b.name(), op.createdAt());
        boolean repointed = b.timeline().equals(newTimeline);
        if (!repointed) {
            requireReady(b);
            refuseIfChildren(b, "restored");
            refuseUnnamedLiveEndpoints(op, b);
        }
        TimelineId source;
        if (sourceId.equals(branchId)) {
            source = repointed ? branch(projectId, backupId).timeline() : b.timeline();
        } else {
            Branch s = branch(projectId, sourceId);
            requireReady(s);
            source = s.timeline();
        }
        Lsn lsn = repointed ? b.branchLsn().orElseThrow() : storage.get().resolveBranchPoint(source, target);
        return new RestorePlan(source, lsn, newTimeline, backupId, backupName);
    }

    /**
     * CreateBackupBranch: {@code <branch>_old_<operation time>}, CREATING, on the branch's current
     * timeline with the branch's parent and LSN. A replay (or a run after the repoint) returns it.
     */
    public Branch createBackupBranch(OperationId opId, ProjectId projectId, BranchId branchId) {
        Operation op = operations.require(opId, OperationKind.RESTORE_BRANCH);
        requireProject(op, projectId);
        BranchId backupId = StepIds.backupBranch(opId);
        Optional<Branch> existing = store.getBranch(projectId, backupId);
        if (existing.isPresent()) {
            return existing.get();
        }
        Branch b = branch(projectId, branchId);
        if (b.timeline().equals(StepIds.childTimeline(opId))) {
            throw new StepFailedException("branch " + branchId + " is restored but its backup " + backupId + " is gone");
        }
        String name = backupName(b.name(), op.createdAt());
        try {
            return store.createBranch(new Branch(projectId, backupId, name, b.timeline(), b.parent(), b.branchLsn(),
                    BranchState.CREATING, 0));
        } catch (MetadataException.AlreadyExists taken) {
            // two restores of the branch within one second: the second backup's name gets its id's tail
            try {
                return store.createBranch(new Branch(projectId, backupId, secondBackupName(name, backupId), b.timeline(),
                        b.parent(), b.branchLsn(), BranchState.CREATING, 0));
            } catch (MetadataException.AlreadyExists e) {
                throw new StepFailedException(e.getMessage(), e);
            }
        }
    }

    /**
     * RepointBranch, the point of no return: the branch (read again, its children listed again) moves
     * to the new timeline, a child of the backup (or of the branch restored from) at {@code lsn}, under
     * the version read; then the backup CREATING -> READY.
     */
    public Branch repointBranch(OperationId opId, ProjectId projectId, BranchId branchId, BranchId sourceId,
                                TimelineId timeline, Lsn lsn) {
        Operation op = operations.require(opId, OperationKind.RESTORE_BRANCH);
        requireProject(op, projectId);
        if (!timeline.equals(StepIds.childTimeline(opId))) {
            throw new StepFailedException("timeline " + timeline + " is not the one operation " + opId + " creates");
        }
        BranchId backupId = StepIds.backupBranch(opId);
        Branch backup = branch(projectId, backupId);
        Branch b = branch(projectId, branchId);
        if (!b.timeline().equals(timeline)) {
            requireReady(b);
            refuseIfChildren(b, "restored");
            BranchId newParent = sourceId.equals(branchId) ? backupId : sourceId;
            b = store.updateBranch(b, b.repointed(timeline, newParent, lsn));
        }
        if (backup.state() == BranchState.CREATING) {
            store.updateBranch(backup, backup.withState(BranchState.READY));
        }
        return b;
    }

    /**
     * PlanEndpointRestart (restore, after the repoint): what the branch's endpoint (the operation's)
     * needs so that its connections reach the restored data: a running compute is stopped and woken
     * again; a suspended endpoint is left (its next wake reads the new timeline). An endpoint another
     * operation is waking or suspending is a {@link TransientStepException}: retried until it settles.
     */
    public EndpointPlan planEndpointRestart(OperationId opId, ProjectId projectId) {
        Operation op = operations.require(opId, OperationKind.RESTORE_BRANCH);
        requireProject(op, projectId);
        return planEndpoint(op, true);
    }

    /**
     * DiscardRestore (restore compensation, after DeleteTimeline): before the repoint, the backup
     * branch's item and name are removed; after it (the repoint happened and a later step failed) the
     * restore stands and the backup is kept, READY. Returns {@code discarded} or {@code kept}.
     */
    public String discardRestore(OperationId opId, ProjectId projectId, BranchId branchId) {
        Operation op = operations.require(opId, OperationKind.RESTORE_BRANCH);
        requireProject(op, projectId);
        Branch b = branch(projectId, branchId);
        BranchId backupId = StepIds.backupBranch(opId);
        Optional<Branch> backup = store.getBranch(projectId, backupId);
        if (b.timeline().equals(StepIds.childTimeline(opId))) {
            if (backup.isPresent() && backup.get().state() == BranchState.CREATING) {
                store.updateBranch(backup.get(), backup.get().withState(BranchState.READY));
            }
            return "kept";
        }
        String name = backupName(b.name(), op.createdAt());
        store.releaseBranchName(projectId, name, backupId); // a claim a crash left without its branch
        store.releaseBranchName(projectId, secondBackupName(name, backupId), backupId);
        removeBranch(projectId, backupId);
        return "discarded";
    }

    // ---------------------------------------------------------------- timelines

    /**
     * DeleteBranchTimeline: for create-branch (compensation) the child timeline it made; for a restore
     * (compensation) the new timeline, unless the branch already points at it (then kept: returns
     * false); for delete-branch the DELETING branch's timeline.
     */
    public boolean deleteTimeline(OperationId opId, ProjectId projectId, TimelineId timeline) {
        Operation op = operations.require(opId, DELETES_TIMELINE);
        requireProject(op, projectId);
        switch (op.kind()) {
            case CREATE_BRANCH -> requireOwn(opId, timeline);
            case RESTORE_BRANCH -> {
                requireOwn(opId, timeline);
                BranchId branchId = op.branch().orElseThrow(() -> noBranch(op));
                if (branch(projectId, branchId).timeline().equals(timeline)) {
                    return false; // past the point of no return: the restore stands
                }
            }
            case DELETE_BRANCH -> {
                BranchId branchId = op.branch().orElseThrow(() -> noBranch(op));
                Optional<Branch> b = store.getBranch(projectId, branchId);
                if (b.isPresent() && (b.get().state() != BranchState.DELETING || !b.get().timeline().equals(timeline))) {
                    throw new StepFailedException("branch " + branchId + " is " + b.get().state() + " on timeline "
                            + b.get().timeline() + ": not deleting timeline " + timeline);
                }
            }
            default -> throw new StepFailedException("operation " + opId + " is a " + op.kind());
        }
        storage.get().deleteTimeline(timeline);
        return true;
    }

    // ---------------------------------------------------------------- helpers

    /** {@code <branch>_old_<UTC time to the second>}, e.g. {@code main_old_2026-12-06T04:31:07Z}. */
    public static String backupName(String branch, Instant replacedAt) {
        String name = branch + "_old_" + replacedAt.truncatedTo(ChronoUnit.SECONDS);
        if (name.length() > Names.MAX_NAME_LENGTH) {
            throw new StepFailedException("the backup branch name '" + name.substring(0, 40) + "...' would be longer than "
                    + Names.MAX_NAME_LENGTH + " characters: rename branch before restoring it");
        }
        return name;
    }

    private static String secondBackupName(String first, BranchId backupId) {
        return first + "_" + backupId.value().substring(3, 9);
    }

    private EndpointPlan planEndpoint(Operation op, boolean restart) {
        if (op.endpoint().isEmpty()) {
            return EndpointPlan.NOTHING;
        }
        EndpointId id = op.endpoint().get();
        Optional<Endpoint> found = store.getEndpoint(id);
        if (found.isEmpty()) {
            return EndpointPlan.NOTHING;
        }
        Endpoint ep = found.get();
        if (ep.heldBy(op.id())) {
            return switch (ep.state()) {
                case SUSPENDING -> new EndpointPlan(Phase.SUSPEND, Optional.of(id), ep.agent());
                case WAKING -> restart ? new EndpointPlan(Phase.WAKE, Optional.of(id), Optional.empty())
                        : EndpointPlan.NOTHING;
                default -> EndpointPlan.NOTHING; // RUNNING after our wake
            };
        }
        return switch (ep.state()) {
            case RUNNING -> new EndpointPlan(Phase.SUSPEND, Optional.of(id), ep.agent());
            case SUSPENDED -> EndpointPlan.NOTHING;
            case WAKING, SUSPENDING -> throw new TransientStepException("endpoint " + id + " is " + ep.state()
                    + ep.operation().map(o -> " (operation " + o + ")").orElse("") + "; waiting for it to settle");
        };
    }

    /**
     * A restore restarts only the endpoint its operation names; any other endpoint of the branch that
     * is not suspended would go on serving (and writing) the old timeline, which becomes the backup
     * branch. Refused before anything is made, with the endpoints named.
     */
    private void refuseUnnamedLiveEndpoints(Operation op, Branch b) {
        List<Endpoint> live = store.listEndpoints(b.project()).stream()
                .filter(e -> e.branch().equals(b.id()) && e.state() != EndpointState.SUSPENDED)
                .filter(e -> op.endpoint().map(named -> !named.equals(e.id())).orElse(true))
                .toList();
        if (!live.isEmpty()) {
            throw new StepFailedException("branch '" + b.name() + "' cannot be restored while endpoint(s) "
                    + live.stream().map(e -> e.id() + " (" + e.state() + ")").collect(Collectors.joining(", "))
                    + " that the restore does not restart serve it: name the endpoint in the operation, or suspend it");
        }
    }

    private void refuseIfChildren(Branch b, String what) {
        List<Branch> children = store.listBranches(b.project()).stream()
                .filter(c -> c.parent().equals(Optional.of(b.id()))).toList();
        if (!children.isEmpty()) {
            throw new StepFailedException("branch '" + b.name() + "' cannot be " + what + " while it has child branches: "
                    + children.stream().map(c -> "'" + c.name() + "' (" + c.id() + ")").collect(Collectors.joining(", "))
                    + "; delete them first");
        }
    }

    private boolean removeBranch(ProjectId projectId, BranchId id) {
        Optional<Branch> b = store.getBranch(projectId, id);
        if (b.isEmpty()) {
            return false;
        }
        Branch branch = b.get();
        if (branch.state() != BranchState.DELETING) {
            branch = store.updateBranch(branch, branch.withState(BranchState.DELETING));
        }
        try {
            store.deleteBranch(branch);
        } catch (MetadataException.NotFound gone) {
            return false;
        }
        return true;
    }

    private void deleteEndpointQuietly(Endpoint e) {
        try {
            store.deleteEndpoint(e);
        } catch (MetadataException.NotFound gone) {
            // a replay: deleted already
        }
    }

    private Branch branch(ProjectId projectId, BranchId id) {
        return store.getBranch(projectId, id).orElseThrow(
                () -> new StepFailedException("branch " + id + " of " + projectId + " does not exist"));
    }

    private static void requireReady(Branch b) {
        if (b.state() != BranchState.READY) {
            throw new StepFailedException("branch '" + b.name() + "' (" + b.id() + ") is " + b.state() + ", not READY");
        }
    }

    private static void requireOwn(OperationId opId, TimelineId timeline) {
        if (!timeline.equals(StepIds.childTimeline(opId))) {
            throw new StepFailedException("timeline " + timeline + " was not created by operation " + opId);
        }
    }

    private static void requireBranchTarget(Operation op, BranchId branchId) {
        if (!op.branch().equals(Optional.of(branchId))) {
            throw new StepFailedException("operation " + op.id() + " is for branch "
                    + op.branch().map(Object::toString).orElse("(none)") + ", not " + branchId);
        }
    }

    private static StepFailedException noBranch(Operation op) {
        return new StepFailedException("operation " + op.id() + " names no branch");
    }

    private static void requireProject(Operation op, ProjectId projectId) {
        if (!op.project().equals(projectId)) {
            throw new StepFailedException("operation " + op.id() + " is for project " + op.project() + ", not "
                    + projectId);
        }
    }
}
