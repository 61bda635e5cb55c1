package dev.strata.controlapi;

import dev.strata.control.metadata.MetadataException;
import dev.strata.control.metadata.MetadataStore;
import dev.strata.control.model.Branch;
import dev.strata.control.model.BranchState;
import dev.strata.control.model.ComputeSettings;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.Operation;
import dev.strata.control.model.Names;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationKind;
import dev.strata.control.model.OperationState;
import dev.strata.control.model.Project;
import dev.strata.control.service.Operations;
import dev.strata.control.storage.BranchTarget;
import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.ProjectId;
import dev.strata.statemachines.Workflow;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * What the API does, without HTTP: reads go to the metadata store; a mutation records an operation
 * (SCHEDULED) and starts its workflow through the {@link WorkflowLauncher}, and the caller polls the
 * operation. The workflows' steps ({@code functions}) do the work and own every state change after
 * that; this class only checks what it can refuse at once (a missing project or branch, a taken branch
 * name, an endpoint in the wrong state) so that the caller gets a 404 or 409 instead of a failed
 * operation, and the conditional writes in the steps still decide every race.
 *
 * <p><b>Start and suspend are serialized per endpoint</b>: the operation id of a start (suspend) is
 * derived from the endpoint's id and the version of its item ({@link #ticket}), so concurrent starts
 * of one SUSPENDED endpoint compute the same id; the first creation wins, the others find that
 * operation and return it, and the launcher starts its workflow once. A start while a start already
 * holds the endpoint (WAKING) returns that start's operation too; any other state is a 409 naming the
 * state and the operation holding the endpoint. If an operation of that id already ended without moving
 * the endpoint (a wake that failed before its first write), the next number is used.
 */
public final class ControlApi {

    /** The Postgres major version new projects get. */
    public static final int PG_VERSION = 17;
    /** How many finished start/suspend operations at one endpoint version are skipped before refusing. */
    static final int MAX_TICKETS = 64;

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    private final MetadataStore store;
    private final WorkflowLauncher launcher;
    private final Operations operations;
    private final Clock clock;

    public ControlApi(MetadataStore store, WorkflowLauncher launcher, Clock clock) {
        this.store = Objects.requireNonNull(store, "store is null");
        this.launcher = Objects.requireNonNull(launcher, "launcher is null");
        this.clock = Objects.requireNonNull(clock, "clock is null");
        this.operations = new Operations(store, clock);
    }

    public MetadataStore store() {
        return store;
    }

    // ---------------------------------------------------------------- projects

    /** Schedules create-project: the project, its main branch and timeline, its default endpoint. */
    public Operation createProject(String name, Optional<ProjectId> requested) {
        Names.check("project name", name, Names.MAX_NAME_LENGTH);
        ProjectId id = requested.orElseGet(ProjectId::random);
        if (store.getProject(id).isPresent()) {
            throw ApiException.conflict("project " + id + " already exists");
        }
        OperationId op = OperationId.random();
        Map<String, Object> in = input(op);
        in.put("projectId", id.toString());
        in.put("name", name);
        in.put("pgVersion", PG_VERSION);
        return scheduleAndLaunch(Workflow.CREATE_PROJECT, op, id, OperationKind.CREATE_PROJECT, Optional.empty(),
                Optional.empty(), in);
    }

    public List<Project> listProjects() {
        return store.listProjects();
    }

    public Project project(ProjectId id) {
        return store.getProject(id).orElseThrow(() -> ApiException.notFound("project " + id + " does not exist"));
    }

    /**
     * Deletes a project that has no branches left (delete them first: each deletion is a workflow that
     * stops its endpoint and removes its timeline). Synchronous: one conditional delete. Its operations
     * stay listed as history.
     */
    public void deleteProject(ProjectId id) {
        Project p = project(id);
        List<Branch> branches = store.listBranches(id);
        if (!branches.isEmpty()) {
            throw ApiException.conflict("project " + id + " still has branches: " + branches.stream()
                    .map(b -> "'" + b.name() + "' (" + b.id() + ", " + b.state() + ")").collect(Collectors.joining(", "))
                    + "; delete them first");
        }
        List<Endpoint> endpoints = store.listEndpoints(id);
        for (Endpoint e : endpoints) {
            if (e.state() != EndpointState.SUSPENDED) {
                throw ApiException.conflict("project " + id + ": endpoint " + e.id() + " is " + e.state());
            }
        }
        for (Endpoint e : endpoints) {
            store.deleteEndpoint(e);
        }
        store.deleteProject(p);
    }

    // ---------------------------------------------------------------- branches

    public List<Branch> listBranches(ProjectId project) {
        project(project);
        return store.listBranches(project);
    }

    /** A branch by name, or else by id. */
    public Branch branch(ProjectId project, String ref) {
        Optional<Branch> byName = store.getBranchByName(project, ref);
        if (byName.isPresent()) {
            return byName.get();
        }
        Optional<Branch> byId = Optional.empty();
        try {
            byId = store.getBranch(project, BranchId.of(ref));
        } catch (IllegalArgumentException e) {
            // not an id either
        }
        return byId.orElseThrow(() -> ApiException.notFound("project " + project + " has no branch named '"
                + shown(ref) + "'"));
    }

    /** Schedules create-branch: {@code name} from {@code parent} (default: main) at {@code target}. */
    public Operation createBranch(ProjectId project, String name, Optional<String> parentRef, BranchTarget target,
                                  boolean createEndpoint) {
        Names.check("branch name", name, Names.MAX_NAME_LENGTH);
        project(project);
        if (store.getBranchByName(project, name).isPresent()) {
            throw ApiException.conflict("project " + project + " already has a branch named '" + shown(name) + "'");
        }
        Branch parent = branch(project, parentRef.orElse("main"));
        if (parent.state() != BranchState.READY) {
            throw ApiException.conflict("branch '" + parent.name() + "' is " + parent.state() + "; a branch is made from a READY one");
        }
        OperationId op = OperationId.random();
        Map<String, Object> in = input(op);
        in.put("projectId", project.toString());
        in.put("name", name);
        in.put("parentBranchId", parent.id().toString());
        in.put("target", target.toJson());
        in.put("createEndpoint", createEndpoint);
        return scheduleAndLaunch(Workflow.CREATE_BRANCH, op, project, OperationKind.CREATE_BRANCH, Optional.of(parent.id()),
                Optional.empty(), in);
    }

    /** Schedules delete-branch (refused by its first step while the branch has children); its endpoint, if running, is stopped. */
    public Operation deleteBranch(ProjectId project, String ref) {
        project(project);
        Branch b = branch(project, ref);
        if (b.state() == BranchState.CREATING) {
            throw ApiException.conflict("branch '" + b.name() + "' is still being created");
        }
        // The branch's endpoint is the operation's, so that BeginBranchDelete stops it if it runs
        // (the workflow refuses a running endpoint it was not given; one endpoint per branch).
        Optional<EndpointId> endpoint = store.listEndpoints(project).stream().filter(e -> e.branch().equals(b.id()))
                .map(Endpoint::id).findFirst();
        OperationId op = OperationId.random();
        Map<String, Object> in = input(op);
        in.put("projectId", project.toString());
        in.put("branchId", b.id().toString());
        return scheduleAndLaunch(Workflow.DELETE_BRANCH, op, project, OperationKind.DELETE_BRANCH, Optional.of(b.id()),
                endpoint, in);
    }

    /** Schedules restore: {@code ref} to {@code source}'s (default: its own) state at {@code target}. */
    public Operation restoreBranch(ProjectId project, String ref, Optional<String> sourceRef, BranchTarget target) {
        project(project);
        Branch b = branch(project, ref);
        Branch source = sourceRef.isPresent() ? branch(project, sourceRef.get()) : b;
        if (b.state() != BranchState.READY || source.state() != BranchState.READY) {
            throw ApiException.conflict("restore needs READY branches: '" + b.name() + "' is " + b.state() + ", '"
                    + source.name() + "' is " + source.state());
        }
        Optional<EndpointId> endpoint = store.listEndpoints(project).stream().filter(e -> e.branch().equals(b.id()))
                .map(Endpoint::id).findFirst();
        OperationId op = OperationId.random();
        Map<String, Object> in = input(op);
        in.put("projectId", project.toString());
        in.put("branchId", b.id().toString());
        in.put("sourceBranchId", source.id().toString());
        in.put("target", target.toJson());
        return scheduleAndLaunch(Workflow.RESTORE, op, project, OperationKind.RESTORE_BRANCH, Optional.of(b.id()), endpoint,
                in);
    }

    // ---------------------------------------------------------------- endpoints

    public List<Endpoint> listEndpoints(ProjectId project) {
        project(project);
        return store.listEndpoints(project);
    }

    public Endpoint endpoint(EndpointId id) {
        return store.getEndpoint(id).orElseThrow(() -> ApiException.notFound("endpoint " + id + " does not exist"));
    }

    /**
     * Creates a SUSPENDED endpoint on a READY branch: one conditional write, no workflow (nothing runs
     * until it is started). 409 if the branch already has one (one endpoint per branch, as the branch
     * workflows assume).
     */
    public Endpoint createEndpoint(ProjectId project, String branchRef, ComputeSettings compute, Duration idleTimeout) {
        project(project);
        Branch b = branch(project, branchRef);
        if (b.state() != BranchState.READY) {
            throw ApiException.conflict("branch '" + b.name() + "' is " + b.state());
        }
        Optional<Endpoint> existing = store.listEndpoints(project).stream().filter(e -> e.branch().equals(b.id())).findFirst();
        if (existing.isPresent()) {
            throw ApiException.conflict("branch '" + b.name() + "' already has endpoint " + existing.get().id());
        }
        return store.createEndpoint(Endpoint.create(EndpointId.random(), project, b.id(), compute, idleTimeout));
    }

    /** Schedules a wake of a SUSPENDED endpoint (see the class comment for concurrent calls). */
    public Operation startEndpoint(EndpointId id) {
        Endpoint e = endpoint(id);
        switch (e.state()) {
            case SUSPENDED -> {
                return endpointOperation(e, OperationKind.START_COMPUTE, Workflow.WAKE, op -> {
                    Map<String, Object> in = input(op);
                    in.put("endpointId", e.id().toString());
                    in.put("projectId", e.project().toString());
                    in.put("branchId", e.branch().toString());
                    return in;
                });
            }
            case WAKING -> {
                return heldBy(e, OperationKind.START_COMPUTE);
            }
            case RUNNING, SUSPENDING -> throw busy(e, "start");
        }
        throw new IllegalStateException(e.state().name());
    }

    /** Schedules a suspend of a RUNNING endpoint (concurrent calls as for a start). */
    public Operation suspendEndpoint(EndpointId id) {
        Endpoint e = endpoint(id);
        switch (e.state()) {
            case RUNNING -> {
                return endpointOperation(e, OperationKind.SUSPEND_COMPUTE, Workflow.SUSPEND, op -> {
                    Map<String, Object> in = input(op);
                    in.put("endpointId", e.id().toString());
                    in.put("agentId", e.agent().orElseThrow().toString());
                    return in;
                });
            }
            case SUSPENDING -> {
                return heldBy(e, OperationKind.SUSPEND_COMPUTE);
            }
            case SUSPENDED, WAKING -> throw busy(e, "suspend");
        }
        throw new IllegalStateException(e.state().name());
    }

    private Operation heldBy(Endpoint e, OperationKind kind) {
        Optional<Operation> holder = e.operation().flatMap(store::getOperation);
        if (holder.isPresent() && holder.get().kind() == kind && !holder.get().state().isFinal()) {
            return holder.get();
        }
        throw busy(e, kind == OperationKind.START_COMPUTE ? "start" : "suspend");
    }

    private static ApiException busy(Endpoint e, String what) {
        return ApiException.conflict("endpoint " + e.id() + " is " + e.state()
                + e.operation().map(o -> " (held by operation " + o + ")").orElse("") + "; cannot " + what + " it now");
    }

    private Operation endpointOperation(Endpoint e, OperationKind kind, Workflow workflow,
                                        java.util.function.Function<OperationId, Map<String, Object>> input) {
        for (int n = 0; n < MAX_TICKETS; n++) {
            OperationId id = ticket(kind, e.id(), e.version(), n);
            Map<String, Object> in = input.apply(id);
            Operation op;
            boolean created = false;
            try {
                op = store.createOperation(Operation.schedule(id, e.project(), kind, Optional.of(e.branch()),
                        Optional.of(e.id()), clock.instant()).withInput(json(in)));
                created = true;
            } catch (MetadataException.AlreadyExists taken) {
                Optional<Operation> found = store.getOperation(id);
                if (found.isEmpty()) {
                    throw ApiException.conflict("operation " + id + " on endpoint " + e.id() + " changed while it was read; retry");
                }
                op = found.get();
            }
            if (op.state().isFinal()) {
                continue; // an earlier attempt at this version ended without moving the endpoint
            }
            return launch(workflow, op, in, created);
        }
        throw ApiException.conflict("endpoint " + e.id() + ": " + MAX_TICKETS + " operations already ended at version "
                + e.version() + " without changing it; look at the operations' errors");
    }

    /** The id of the {@code n}th start (suspend) operation at an endpoint's item version. */
    static OperationId ticket(OperationKind kind, EndpointId endpoint, long version, int n) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest((kind + ":" + endpoint + ":" + version + ":" + n)
                    .getBytes(StandardCharsets.UTF_8));
            return OperationId.of("op-" + HexFormat.of().formatHex(h).substring(0, 20));
        } catch (NoSuchAlgorithmException x) {
            throw new IllegalStateException(x);
        }
    }

    // ---------------------------------------------------------------- operations

    public List<Operation> listOperations(ProjectId project) {
        project(project);
        return store.listOperations(project);
    }

    public Operation operation(OperationId id) {
        return store.getOperation(id).orElseThrow(() -> ApiException.notFound("operation " + id + " does not exist"));
    }

    // ---------------------------------------------------------------- helpers

    /** Records the operation SCHEDULED with its workflow input, then launches it. */
    private Operation scheduleAndLaunch(Workflow workflow, OperationId id, ProjectId project, OperationKind kind,
                                        Optional<BranchId> branch, Optional<EndpointId> endpoint, Map<String, Object> in) {
        Operation op = store.createOperation(Operation.schedule(id, project, kind, branch, endpoint, clock.instant())
                .withInput(json(in)));
        return launch(workflow, op, in, true);
    }

    /** The workflow input's first field; the rest is added by the caller, {@code recoversExecution} at launch. */
    private static Map<String, Object> input(OperationId op) {
        Map<String, Object> in = new LinkedHashMap<>();
        in.put("operationId", op.toString());
        return in;
    }

    static String json(Map<String, Object> in) {
        try {
            return JSON.writeValueAsString(in);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("workflow input is not JSON: " + e.getMessage(), e);
        }
    }

    /**
     * Starts the workflow (a fresh execution: {@code recoversExecution} empty). If it cannot be started
     * and this call {@code created} the operation, which is still SCHEDULED (no step ran), the operation
     * is recorded FAILED; an operation another call created (a shared start) may be running under that
     * call's launch and is left alone. The error is passed on (503).
     */
    private Operation launch(Workflow workflow, Operation op, Map<String, Object> stored, boolean created) {
        Map<String, Object> input = new LinkedHashMap<>(stored);
        input.put("recoversExecution", "");
        try {
            launcher.launch(workflow, op.id(), input);
        } catch (RuntimeException e) {
            try {
                if (created && store.getOperation(op.id()).map(o -> o.state() == OperationState.SCHEDULED).orElse(false)) {
                    operations.fail(op.id(), "the " + workflow.fileName() + " workflow could not be started: "
                            + e.getMessage());
                }
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e instanceof ApiException a ? a
                    : new ApiException(ApiException.Kind.UNAVAILABLE, "could not start the workflow: " + e.getMessage(), e);
        }
        return op;
    }

    private static String shown(String s) {
        String t = s.length() > 70 ? s.substring(0, 70) + "..." : s;
        return t.replaceAll("[^\\x20-\\x7e]", "?");
    }
}
