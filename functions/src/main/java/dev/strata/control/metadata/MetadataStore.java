package dev.strata.control.metadata;

import dev.strata.control.metadata.Codecs.Codec;
import dev.strata.control.metadata.Codecs.Key;
import dev.strata.control.model.AgentState;
import dev.strata.control.model.Branch;
import dev.strata.control.model.BranchState;
import dev.strata.control.model.ComputeAgent;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.Lifecycle;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.Project;
import dev.strata.control.model.StorageNode;
import dev.strata.control.model.StorageNodeKind;
import dev.strata.control.model.Versioned;
import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.ProjectId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.QueryRequest;

/**
 * The control plane's metadata on DynamoDB: projects, branches, endpoints, operations, the warm
 * compute-agent pool and the storage nodes, in one table ({@link MetadataTable},
 * docs/control-plane.md).
 *
 * <p>Every write is one conditional write on one item, never a transaction (dynalite, the local
 * engine, has none, and a step that writes one item can simply be retried):
 * <ul>
 *   <li>{@code create*} puts a record whose version is 0 as version 1, if no item has its key;
 *   <li>{@code update*(read, next)} writes {@code next} as version {@code read.version() + 1} if the
 *       item still has the version and state of {@code read}, after checking {@code read.state()}
 *       may become {@code next.state()} ({@link Lifecycle});
 *   <li>{@code delete*(read)} deletes if the item still has {@code read}'s version.
 * </ul>
 * A write that loses to another writer throws {@link MetadataException.VersionConflict} (or
 * {@link MetadataException.NotFound} if the item is gone): read again and decide again. A create
 * or update repeated with the same records after it succeeded (a retried step, or the SDK
 * retrying after a lost response) returns the stored record instead: every write is idempotent.
 * A repeated delete finds the item gone: {@code NotFound}, which a deleting step treats as done. Reads
 * by key are strongly consistent; listings go through the index {@code gsi1} and are eventually
 * consistent on AWS, so a listing is a hint and a write decides (the conditions hold anyway).
 *
 * <p>Thread-safe (the SDK client is).
 */
public final class MetadataStore {

    private final DynamoDbClient client;
    private final String table;

    public MetadataStore(DynamoDbClient client, String table) {
        this.client = Objects.requireNonNull(client, "client is null");
        this.table = MetadataTable.checkName(table);
    }

    public String table() {
        return table;
    }

    // ---------------------------------------------------------------- projects

    public Project createProject(Project p) {
        return create(Codecs.PROJECT, p, Project::withVersion);
    }

    public Optional<Project> getProject(ProjectId id) {
        return get(Codecs.PROJECT, Codecs.projectKey(id));
    }

    public List<Project> listProjects() {
        return query(Codecs.PROJECT, Codecs.PROJECTS, null);
    }

    /** Renames: the only change a project has (it has no state). */
    public Project updateProject(Project read, Project next) {
        return update(Codecs.PROJECT, read, next, null, null, Project::withVersion);
    }

    public void deleteProject(Project read) {
        delete(Codecs.PROJECT, read, null);
    }

    // ---------------------------------------------------------------- branches

    /**
     * Creates a branch and claims its name within the project: first the name claim, then the
     * branch, each one conditional put. Retrying with the same branch (same id) after a failure
     * between the two completes it; another branch with the same name is refused with
     * {@link MetadataException.AlreadyExists}.
     */
    public Branch createBranch(Branch b) {
        requireNew(Codecs.BRANCH, b);
        Key claim = Codecs.branchNameKey(b.project(), b.name());
        Map<String, AttributeValue> item = new HashMap<>(claim.toMap());
        item.put(Codecs.TYPE, AttributeValue.fromS("branch-name"));
        item.put("branch", AttributeValue.fromS(b.id().value()));
        try {
            client.putItem(r -> r.tableName(table).item(item)
                    .conditionExpression("attribute_not_exists(#pk) OR #branch = :branch")
                    .expressionAttributeNames(Map.of("#pk", MetadataTable.PK, "#branch", "branch"))
                    .expressionAttributeValues(Map.of(":branch", AttributeValue.fromS(b.id().value()))));
        } catch (ConditionalCheckFailedException e) {
            String holder = Optional.ofNullable(getItem(claim)).map(m -> m.get("branch")).map(AttributeValue::s)
                    .orElse("?");
            throw new MetadataException.AlreadyExists("project " + b.project() + " already has a branch named '"
                    + b.name() + "' (branch " + holder + ")");
        } catch (SdkException e) {
            throw unavailable("claim the name of " + Codecs.BRANCH.what(b), e);
        }
        // a retry after the branch was written returns it (create is idempotent for identical records)
        return create(Codecs.BRANCH, b, Branch::withVersion);
    }

    public Optional<Branch> getBranch(ProjectId project, BranchId id) {
        return get(Codecs.BRANCH, Codecs.branchKey(project, id));
    }

    /** The branch holding {@code name} in the project, through its name claim. */
    public Optional<Branch> getBranchByName(ProjectId project, String name) {
        Map<String, AttributeValue> claim = getItem(Codecs.branchNameKey(project, name));
        if (claim == null) {
            return Optional.empty();
        }
        BranchId id = Attrs.of(claim).parsed("branch", BranchId::of);
        return getBranch(project, id);
    }

    public List<Branch> listBranches(ProjectId project) {
        List<Branch> out = new ArrayList<>();
        try {
            client.queryPaginator(r -> r.tableName(table).consistentRead(true)
                            .keyConditionExpression("#pk = :pk AND begins_with(#sk, :prefix)")
                            .expressionAttributeNames(Map.of("#pk", MetadataTable.PK, "#sk", MetadataTable.SK))
                            .expressionAttributeValues(Map.of(":pk", AttributeValue.fromS(Codecs.projectPartition(project)),
                                    ":prefix", AttributeValue.fromS("BRANCH#"))))
                    .items().forEach(i -> out.add(Codecs.BRANCH.fromItem(i)));
        } catch (SdkException e) {
            throw unavailable("list the branches of project " + project, e);
        }
        return out;
    }

    /** A state change (or a repoint to another timeline); the branch's name cannot change. */
    public Branch updateBranch(Branch read, Branch next) {
        if (!read.name().equals(next.name())) {
            throw new IllegalArgumentException(Codecs.BRANCH.what(read) + ": the name cannot change ('"
                    + read.name() + "' to '" + next.name() + "')");
        }
        return update(Codecs.BRANCH, read, next, read.state(), next.state(), Branch::withVersion);
    }

    /**
     * Deletes a DELETING branch, then releases its name. A retry after a failure between the two
     * finds the branch gone ({@link MetadataException.NotFound}) and should call
     * {@link #releaseBranchName}.
     */
    public void deleteBranch(Branch read) {
        if (read.state() != BranchState.DELETING) {
            throw new MetadataException.IllegalTransition(Codecs.BRANCH.what(read) + " is " + read.state()
                    + ": only a DELETING branch is deleted");
        }
        delete(Codecs.BRANCH, read, BranchState.DELETING);
        releaseBranchName(read.project(), read.name(), read.id());
    }

    /** Removes the name claim if {@code branch} holds it; no-op otherwise. */
    public void releaseBranchName(ProjectId project, String name, BranchId branch) {
        try {
            client.deleteItem(r -> r.tableName(table).key(Codecs.branchNameKey(project, name).toMap())
                    .conditionExpression("#branch = :branch")
                    .expressionAttributeNames(Map.of("#branch", "branch"))
                    .expressionAttributeValues(Map.of(":branch", AttributeValue.fromS(branch.value()))));
        } catch (ConditionalCheckFailedException e) {
            // gone already, or another branch holds the name now: nothing of ours to release
        } catch (SdkException e) {
            throw unavailable("release branch name '" + name + "' of project " + project, e);
        }
    }

    // ---------------------------------------------------------------- endpoints

    public Endpoint createEndpoint(Endpoint e) {
        return create(Codecs.ENDPOINT, e, Endpoint::withVersion);
    }

    public Optional<Endpoint> getEndpoint(EndpointId id) {
        return get(Codecs.ENDPOINT, Codecs.endpointKey(id));
    }

    public List<Endpoint> listEndpoints(ProjectId project) {
        return query(Codecs.ENDPOINT, Codecs.projectPartition(project), "ENDPOINT#");
    }

    public Endpoint updateEndpoint(Endpoint read, Endpoint next) {
        if (!read.project().equals(next.project())) {
            throw new IllegalArgumentException(Codecs.ENDPOINT.what(read) + ": the project cannot change");
        }
        return update(Codecs.ENDPOINT, read, next, read.state(), next.state(), Endpoint::withVersion);
    }

    /** Deletes a SUSPENDED endpoint (one with a compute is suspended first: no orphaned compute). */
    public void deleteEndpoint(Endpoint read) {
        if (read.state() != EndpointState.SUSPENDED) {
            throw new MetadataException.IllegalTransition(Codecs.ENDPOINT.what(read) + " is " + read.state()
                    + ": only a SUSPENDED endpoint is deleted");
        }
        delete(Codecs.ENDPOINT, read, EndpointState.SUSPENDED);
    }

    // ---------------------------------------------------------------- operations

    public Operation createOperation(Operation o) {
        return create(Codecs.OPERATION, o, Operation::withVersion);
    }

    public Optional<Operation> getOperation(OperationId id) {
        return get(Codecs.OPERATION, Codecs.operationKey(id));
    }

    /** The project's operations, oldest first. */
    public List<Operation> listOperations(ProjectId project) {
        return query(Codecs.OPERATION, Codecs.projectPartition(project), "OPERATION#");
    }

    public Operation updateOperation(Operation read, Operation next) {
        if (!read.project().equals(next.project()) || read.kind() != next.kind()
                || !read.createdAt().equals(next.createdAt())) {
            throw new IllegalArgumentException(Codecs.OPERATION.what(read) + ": project, kind and creation time cannot change");
        }
        return update(Codecs.OPERATION, read, next, read.state(), next.state(), Operation::withVersion);
    }

    public void deleteOperation(Operation read) {
        delete(Codecs.OPERATION, read, null);
    }

    // ---------------------------------------------------------------- the warm pool

    public ComputeAgent registerAgent(ComputeAgent a) {
        return create(Codecs.AGENT, a, ComputeAgent::withVersion);
    }

    public Optional<ComputeAgent> getAgent(NodeId id) {
        return get(Codecs.AGENT, Codecs.agentKey(id));
    }

    public List<ComputeAgent> listAgents(AgentState state) {
        return query(Codecs.AGENT, Codecs.poolPartition(state), null);
    }

    public ComputeAgent updateAgent(ComputeAgent read, ComputeAgent next) {
        return update(Codecs.AGENT, read, next, read.state(), next.state(), ComputeAgent::withVersion);
    }

    /**
     * Claims an idle agent for {@code endpoint}: the agent it already holds if a previous attempt
     * claimed one (so a retried wake step does not take a second), else the first idle agent that
     * a conditional write wins. Empty if the pool is empty.
     */
    public Optional<ComputeAgent> claimAgent(EndpointId endpoint) {
        Optional<ComputeAgent> held = findAgentClaimedBy(endpoint);
        if (held.isPresent()) {
            return held;
        }
        for (ComputeAgent idle : listAgents(AgentState.IDLE)) {
            try {
                return Optional.of(updateAgent(idle, idle.claimedBy(endpoint)));
            } catch (MetadataException.VersionConflict | MetadataException.NotFound lost) {
                // another wake took it (or the index was stale): try the next one
            }
        }
        return Optional.empty();
    }

    /** The agent claimed by {@code endpoint}, if any: one index query, confirmed by a consistent read. */
    public Optional<ComputeAgent> findAgentClaimedBy(EndpointId endpoint) {
        for (ComputeAgent held : query(Codecs.AGENT, Codecs.poolPartition(AgentState.CLAIMED),
                Codecs.claimedSortPrefix(endpoint))) {
            // the index may lag behind a release: the item decides
            Optional<ComputeAgent> fresh = getAgent(held.id());
            if (fresh.isPresent() && fresh.get().claimedBy().equals(Optional.of(endpoint))) {
                return fresh;
            }
        }
        return Optional.empty();
    }

    public void deleteAgent(ComputeAgent read) {
        delete(Codecs.AGENT, read, null);
    }

    // ---------------------------------------------------------------- storage nodes

    public StorageNode registerNode(StorageNode n) {
        return create(Codecs.NODE, n, StorageNode::withVersion);
    }

    public Optional<StorageNode> getNode(NodeId id) {
        return get(Codecs.NODE, Codecs.nodeKey(id));
    }

    public List<StorageNode> listNodes(StorageNodeKind kind) {
        return query(Codecs.NODE, Codecs.NODES, kind.name() + "#");
    }

    public StorageNode updateNode(StorageNode read, StorageNode next) {
        if (read.kind() != next.kind()) {
            throw new IllegalArgumentException(Codecs.NODE.what(read) + ": the kind cannot change");
        }
        return update(Codecs.NODE, read, next, read.state(), next.state(), StorageNode::withVersion);
    }

    public void deleteNode(StorageNode read) {
        delete(Codecs.NODE, read, null);
    }

    // ---------------------------------------------------------------- the conditional writes

    private static <T extends Versioned> void requireNew(Codec<T> codec, T value) {
        if (value.version() != 0) {
            throw new IllegalArgumentException("create " + codec.what(value) + ": a new record has version 0, got "
                    + value.version());
        }
    }

    private <T extends Versioned> T create(Codec<T> codec, T value, VersionSetter<T> withVersion) {
        requireNew(codec, value);
        T stored = withVersion.apply(value, 1);
        try {
            client.putItem(r -> r.tableName(table).item(codec.toItem(stored))
                    .conditionExpression("attribute_not_exists(#pk)")
                    .expressionAttributeNames(Map.of("#pk", MetadataTable.PK)));
            return stored;
        } catch (ConditionalCheckFailedException e) {
            if (isStored(codec, codec.key(stored), stored)) {
                return stored; // this very create, retried (by the step, or by the SDK after a lost response)
            }
            throw new MetadataException.AlreadyExists(codec.what(value) + " already exists");
        } catch (SdkException e) {
            throw unavailable("create " + codec.what(value), e);
        }
    }

    /**
     * Whether the item at {@code key} is exactly {@code expected}. After a failed condition this
     * tells our own earlier write (a retry whose first attempt succeeded but whose response was
     * lost) from another writer's, so a retried step is not mistaken for a conflict.
     */
    private <T> boolean isStored(Codec<T> codec, Key key, T expected) {
        Map<String, AttributeValue> now = getItem(key);
        if (now == null) {
            return false;
        }
        try {
            return codec.fromItem(now).equals(expected);
        } catch (MetadataException.CorruptItem e) {
            return false;
        }
    }

    private <T extends Versioned, S extends Enum<S> & Lifecycle<S>> T update(Codec<T> codec, T read, T next, S from,
                                                                           S to, VersionSetter<T> withVersion) {
        Key key = codec.key(read);
        if (!key.equals(codec.key(next))) {
            throw new IllegalArgumentException("update " + codec.what(read) + ": the new record is "
                    + codec.what(next) + " (ids cannot change)");
        }
        if (next.version() != read.version()) {
            throw new IllegalArgumentException("update " + codec.what(read) + ": next must carry the version it was read at ("
                    + read.version() + "), got " + next.version());
        }
        if (read.version() < 1) {
            throw new IllegalArgumentException("update " + codec.what(read) + ": it was never stored (version 0)");
        }
        if (from != null && !from.canBecome(to)) {
            throw new MetadataException.IllegalTransition(codec.what(read) + " cannot go from " + from + " to " + to);
        }
        T stored = withVersion.apply(next, read.version() + 1);
        Condition c = Condition.versionAndState(read.version(), from);
        try {
            client.putItem(r -> r.tableName(table).item(codec.toItem(stored)).conditionExpression(c.expression)
                    .expressionAttributeNames(c.names).expressionAttributeValues(c.values));
            return stored;
        } catch (ConditionalCheckFailedException e) {
            if (isStored(codec, key, stored)) {
                return stored; // this very update, retried after its response was lost
            }
            throw lost(codec, key, read, from);
        } catch (SdkException e) {
            throw unavailable("update " + codec.what(read), e);
        }
    }

    private <T extends Versioned, S extends Enum<S>> void delete(Codec<T> codec, T read, S state) {
        Key key = codec.key(read);
        Condition c = Condition.versionAndState(read.version(), state);
        try {
            client.deleteItem(r -> r.tableName(table).key(key.toMap()).conditionExpression(c.expression)
                    .expressionAttributeNames(c.names).expressionAttributeValues(c.values));
        } catch (ConditionalCheckFailedException e) {
            throw lost(codec, key, read, state);
        } catch (SdkException e) {
            throw unavailable("delete " + codec.what(read), e);
        }
    }

    /** What a failed condition means, from a consistent read after it: gone, or changed by another writer. */
    private <T extends Versioned> MetadataException lost(Codec<T> codec, Key key, T read, Enum<?> state) {
        Map<String, AttributeValue> now = getItem(key);
        if (now == null) {
            return new MetadataException.NotFound(codec.what(read) + " does not exist (deleted by another writer?)");
        }
        long found = Attrs.of(now).number(Codecs.VERSION);
        String foundState = Optional.ofNullable(now.get(Codecs.STATE)).map(AttributeValue::s).orElse(null);
        String expectedState = state == null ? "" : " in state " + state;
        String nowState = foundState == null ? "" : " in state " + foundState;
        return new MetadataException.VersionConflict(codec.what(read) + ": expected version " + read.version()
                + expectedState + ", found version " + found + nowState + " (another writer came first)",
                read.version(), found);
    }

    private <T> Optional<T> get(Codec<T> codec, Key key) {
        return Optional.ofNullable(getItem(key)).map(codec::fromItem);
    }

    private Map<String, AttributeValue> getItem(Key key) {
        try {
            var response = client.getItem(r -> r.tableName(table).key(key.toMap()).consistentRead(true));
            return response.hasItem() && !response.item().isEmpty() ? response.item() : null;
        } catch (SdkException e) {
            throw unavailable("read (" + key.pk() + ", " + key.sk() + ")", e);
        }
    }

    /** All items of one gsi1 partition, optionally those whose gsi1 sort key starts with {@code prefix}. */
    private <T> List<T> query(Codec<T> codec, String partition, String prefix) {
        Map<String, String> names = new HashMap<>(Map.of("#gpk", MetadataTable.GSI1_PK));
        Map<String, AttributeValue> values = new HashMap<>(Map.of(":gpk", AttributeValue.fromS(partition)));
        String condition = "#gpk = :gpk";
        if (prefix != null) {
            names.put("#gsk", MetadataTable.GSI1_SK);
            values.put(":prefix", AttributeValue.fromS(prefix));
            condition += " AND begins_with(#gsk, :prefix)";
        }
        QueryRequest request = QueryRequest.builder().tableName(table).indexName(MetadataTable.GSI1)
                .keyConditionExpression(condition).expressionAttributeNames(names).expressionAttributeValues(values)
                .build();
        List<T> out = new ArrayList<>();
        try {
            client.queryPaginator(request).items().forEach(i -> out.add(codec.fromItem(i)));
        } catch (SdkException e) {
            throw unavailable("list " + partition + (prefix == null ? "" : " " + prefix + "*"), e);
        }
        return out;
    }

    private MetadataException.Unavailable unavailable(String what, SdkException e) {
        return new MetadataException.Unavailable("could not " + what + " in table " + table + ": " + e.getMessage(), e);
    }

    @FunctionalInterface
    private interface VersionSetter<T> {
        T apply(T value, long version);
    }

    /** The condition of an update or delete: the version read, and the state read if the item has one. */
    private record Condition(String expression, Map<String, String> names, Map<String, AttributeValue> values) {
        static Condition versionAndState(long version, Enum<?> state) {
            Map<String, String> names = new HashMap<>(Map.of("#v", Codecs.VERSION));
            Map<String, AttributeValue> values = new HashMap<>(
                    Map.of(":v", AttributeValue.fromN(Long.toString(version))));
            String expression = "#v = :v";
            if (state != null) {
                names.put("#st", Codecs.STATE);
                values.put(":st", AttributeValue.fromS(state.name()));
                expression += " AND #st = :st";
            }
            return new Condition(expression, names, values);
        }
    }
}
