package dev.strata.control.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.control.model.AgentState;
import dev.strata.control.model.Branch;
import dev.strata.control.model.BranchState;
import dev.strata.control.model.ComputeAgent;
import dev.strata.control.model.ComputeSettings;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.Names;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationKind;
import dev.strata.control.model.OperationState;
import dev.strata.control.model.Project;
import dev.strata.control.model.StorageNode;
import dev.strata.control.model.StorageNodeKind;
import dev.strata.control.model.StorageNodeState;
import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.ProjectId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

/**
 * What the metadata store promises, run against each DynamoDB implementation we have (dynalite,
 * moto), so the schema never leans on one engine's quirks. Each test uses fresh random ids, so
 * tests share one table without seeing each other (the agent pool tests use their own table:
 * the pool is global).
 */
abstract class MetadataStoreContract {

    static final String TABLE = "strata-metadata-test";
    private static final Instant NOW = Instant.parse("2026-12-05T10:00:00Z");

    /** A client of the engine under test, started by the concrete class. */
    abstract DynamoDbClient client();

    MetadataStore store;

    @BeforeEach
    void table() {
        MetadataTable.createIfMissing(client(), TABLE);
        store = new MetadataStore(client(), TABLE);
    }

    private Project newProject() {
        return store.createProject(Project.create(ProjectId.random(), "my project", NOW));
    }

    private Endpoint newEndpoint(ProjectId project) {
        return store.createEndpoint(Endpoint.create(EndpointId.random(), project, BranchId.random(),
                ComputeSettings.DEFAULT, Duration.ofMinutes(5)));
    }

    // ---------------------------------------------------------------- projects: the CRUD contract

    @Test
    void projectCreateGetListUpdateDelete() {
        Project created = newProject();
        assertThat(created.version()).isEqualTo(1);
        assertThat(store.getProject(created.id())).contains(created);
        assertThat(store.listProjects()).contains(created);

        Project renamed = store.updateProject(created, created.withName("renamed"));
        assertThat(renamed.version()).isEqualTo(2);
        assertThat(store.getProject(created.id())).contains(renamed);

        assertThatThrownBy(() -> store.deleteProject(created)).isInstanceOf(MetadataException.VersionConflict.class);
        store.deleteProject(renamed);
        assertThat(store.getProject(created.id())).isEmpty();
        assertThat(store.listProjects()).doesNotContain(renamed);
        assertThatThrownBy(() -> store.updateProject(renamed, renamed.withName("again")))
                .isInstanceOf(MetadataException.NotFound.class).hasMessageContaining(created.id().value());
    }

    @Test
    void creatingTwiceIsRefused() {
        Project p = newProject();
        assertThatThrownBy(() -> store.createProject(Project.create(p.id(), "other", NOW)))
                .isInstanceOf(MetadataException.AlreadyExists.class).hasMessageContaining(p.id().value());
        assertThat(store.getProject(p.id())).contains(p);
    }

    @Test
    void aStaleWriteIsAVersionConflictAndChangesNothing() {
        Project p = newProject();
        Project v2 = store.updateProject(p, p.withName("first"));
        assertThatThrownBy(() -> store.updateProject(p, p.withName("second")))
                .isInstanceOfSatisfying(MetadataException.VersionConflict.class, e -> {
                    assertThat(e.expectedVersion()).isEqualTo(1);
                    assertThat(e.foundVersion()).isEqualTo(2);
                })
                .hasMessageContaining("project " + p.id()).hasMessageContaining("expected version 1")
                .hasMessageContaining("found version 2");
        assertThat(store.getProject(p.id())).contains(v2);
    }

    /** A step retried after its write succeeded (its response lost) gets the stored record, not a conflict. */
    @Test
    void repeatingTheSameWriteIsIdempotent() {
        Project p = Project.create(ProjectId.random(), "retried", NOW);
        Project first = store.createProject(p);
        assertThat(store.createProject(p)).isEqualTo(first);
        Project renamed = store.updateProject(first, first.withName("renamed"));
        assertThat(store.updateProject(first, first.withName("renamed"))).isEqualTo(renamed);
        assertThat(store.getProject(p.id()).orElseThrow().version()).isEqualTo(2);
        // but a different write from the same stale read is a conflict
        assertThatThrownBy(() -> store.updateProject(first, first.withName("other")))
                .isInstanceOf(MetadataException.VersionConflict.class);
    }

    @Test
    void timesRoundTripAsStored() {
        Instant withNanos = Instant.parse("2026-12-05T10:00:00.123456789Z");
        Project p = store.createProject(Project.create(ProjectId.random(), "nanos", withNanos));
        assertThat(p.createdAt()).isEqualTo(Instant.parse("2026-12-05T10:00:00.123Z"));
        assertThat(store.getProject(p.id())).contains(p);
    }

    @Test
    void anOperationWithEveryOptionalAttributeRoundTrips() {
        Project p = newProject();
        Operation o = store.createOperation(Operation.schedule(OperationId.random(), p.id(), OperationKind.RESTORE_BRANCH,
                Optional.of(BranchId.random()), Optional.of(EndpointId.random()), NOW)
                .withInput("{\"operationId\": \"x\", \"target\": {\"kind\": \"head\"}}"));
        Operation running = store.updateOperation(o, o.running("arn:aws:states:eu-west-1:1:execution:restore:x", NOW));
        Operation failed = store.updateOperation(running, running.failed("pageserver: timeline not found", NOW));
        assertThat(store.getOperation(o.id())).contains(failed);
        assertThat(failed.branch()).isPresent();
        assertThat(failed.endpoint()).isPresent();
        assertThat(failed.executionArn()).isPresent();
        assertThat(failed.error()).contains("pageserver: timeline not found");
        assertThat(failed.input()).contains("{\"operationId\": \"x\", \"target\": {\"kind\": \"head\"}}");
    }

    /** The name is part of the claim's sort key: the longest name in 3-byte UTF-8 still fits DynamoDB's 1 KB key. */
    @Test
    void theLongestBranchNameFitsItsKey() {
        Project p = newProject();
        String longest = "\u20ac".repeat(Names.MAX_NAME_LENGTH);
        Branch b = store.createBranch(Branch.root(p.id(), BranchId.random(), longest, TimelineId.random()));
        assertThat(store.getBranchByName(p.id(), longest)).contains(b);
    }

    @Test
    void missingItemsReadAsEmpty() {
        assertThat(store.getProject(ProjectId.random())).isEmpty();
        assertThat(store.getEndpoint(EndpointId.random())).isEmpty();
        assertThat(store.getOperation(OperationId.random())).isEmpty();
        assertThat(store.listBranches(ProjectId.random())).isEmpty();
        assertThat(store.listEndpoints(ProjectId.random())).isEmpty();
    }

    @Test
    void misuseIsRefusedBeforeAnyWrite() {
        Project p = newProject();
        assertThatThrownBy(() -> store.createProject(p)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("version 0");
        assertThatThrownBy(() -> store.updateProject(p, p.withName("x").withVersion(5)))
                .isInstanceOf(IllegalArgumentException.class);
        Project other = Project.create(ProjectId.random(), "x", NOW).withVersion(1);
        assertThatThrownBy(() -> store.updateProject(p, other)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ids cannot change");
        assertThat(store.getProject(p.id())).contains(p);
    }

    // ---------------------------------------------------------------- branches

    @Test
    void branchesHaveUniqueNamesWithinAProject() {
        Project p = newProject();
        TimelineId tl = TimelineId.random();
        Branch main = store.createBranch(Branch.root(p.id(), BranchId.random(), "main", tl));
        Branch dev = store.createBranch(Branch.child(p.id(), BranchId.random(), "dev", TimelineId.random(), main.id(),
                Lsn.parse("0/16B3748")));
        assertThat(store.getBranch(p.id(), dev.id())).contains(dev);
        assertThat(dev.branchLsn()).contains(Lsn.parse("0/16B3748"));
        assertThat(store.getBranchByName(p.id(), "main")).contains(main);
        assertThat(store.listBranches(p.id())).containsExactlyInAnyOrder(main, dev);

        assertThatThrownBy(() -> store.createBranch(Branch.root(p.id(), BranchId.random(), "main", TimelineId.random())))
                .isInstanceOf(MetadataException.AlreadyExists.class).hasMessageContaining("'main'")
                .hasMessageContaining(main.id().value());
        // another project may use the name
        Project q = newProject();
        assertThat(store.createBranch(Branch.root(q.id(), BranchId.random(), "main", tl)).version()).isEqualTo(1);
    }

    @Test
    void retryingABranchCreationReturnsTheSameBranch() {
        Project p = newProject();
        Branch b = Branch.root(p.id(), BranchId.random(), "main", TimelineId.random());
        Branch first = store.createBranch(b);
        assertThat(store.createBranch(b)).isEqualTo(first);
        assertThat(store.listBranches(p.id())).hasSize(1);
    }

    @Test
    void branchLifecycleAndDeletionReleasesTheName() {
        Project p = newProject();
        Branch b = store.createBranch(Branch.root(p.id(), BranchId.random(), "main", TimelineId.random()));
        Branch ready = store.updateBranch(b, b.withState(BranchState.READY));
        assertThatThrownBy(() -> store.updateBranch(ready, ready.withState(BranchState.CREATING)))
                .isInstanceOf(MetadataException.IllegalTransition.class).hasMessageContaining("READY to CREATING");
        assertThatThrownBy(() -> store.deleteBranch(ready)).isInstanceOf(MetadataException.IllegalTransition.class);
        TimelineId restored = TimelineId.random();
        Branch repointed = store.updateBranch(ready, ready.withTimeline(restored));
        assertThat(store.getBranch(p.id(), b.id()).orElseThrow().timeline()).isEqualTo(restored);
        Branch deleting = store.updateBranch(repointed, repointed.withState(BranchState.DELETING));
        store.deleteBranch(deleting);
        assertThat(store.getBranch(p.id(), b.id())).isEmpty();
        assertThat(store.getBranchByName(p.id(), "main")).isEmpty();
        assertThat(store.createBranch(Branch.root(p.id(), BranchId.random(), "main", TimelineId.random())).name())
                .isEqualTo("main");
    }

    // ---------------------------------------------------------------- endpoints

    @Test
    void endpointGoesThroughEveryAllowedState() {
        Project p = newProject();
        Endpoint e = newEndpoint(p.id());
        assertThat(e.state()).isEqualTo(EndpointState.SUSPENDED);
        NodeId agent = NodeId.of("agent-1");
        Endpoint waking = store.updateEndpoint(e, e.waking(agent));
        // a failed wake is compensated back to SUSPENDED
        Endpoint back = store.updateEndpoint(waking, waking.suspended());
        Endpoint waking2 = store.updateEndpoint(back, back.waking(agent));
        Endpoint running = store.updateEndpoint(waking2, waking2.running("127.0.0.1:55432"));
        Endpoint suspending = store.updateEndpoint(running, running.suspending());
        Endpoint suspended = store.updateEndpoint(suspending, suspending.suspended());
        assertThat(suspended.version()).isEqualTo(7);
        assertThat(store.getEndpoint(e.id())).contains(suspended);
        assertThat(running.address()).contains("127.0.0.1:55432");
        assertThat(store.listEndpoints(p.id())).containsExactly(suspended);
        store.deleteEndpoint(suspended);
        assertThat(store.getEndpoint(e.id())).isEmpty();
    }

    @Test
    void endpointKeepsTheOperationThatHoldsIt() {
        Endpoint e = newEndpoint(newProject().id());
        OperationId wake = OperationId.random();
        Endpoint waking = store.updateEndpoint(e, e.waking(NodeId.of("agent-1"), wake));
        assertThat(store.getEndpoint(e.id())).contains(waking);
        assertThat(waking.heldBy(wake)).isTrue();
        Endpoint running = store.updateEndpoint(waking, waking.running("127.0.0.1:5432"));
        assertThat(store.getEndpoint(e.id()).orElseThrow().operation()).contains(wake);
        OperationId suspend = OperationId.random();
        Endpoint suspending = store.updateEndpoint(running, running.suspending(suspend));
        assertThat(store.getEndpoint(e.id()).orElseThrow().operation()).contains(suspend);
        Endpoint suspended = store.updateEndpoint(suspending, suspending.suspended());
        assertThat(store.getEndpoint(e.id()).orElseThrow().operation()).isEmpty();
        assertThatThrownBy(() -> new Endpoint(e.id(), e.project(), e.branch(), e.compute(), EndpointState.SUSPENDED,
                Optional.empty(), Optional.empty(), e.idleTimeout(), Optional.of(wake), suspended.version()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("operation");
    }

    @Test
    void endpointRefusesASkippedState() {
        Endpoint e = newEndpoint(newProject().id());
        Endpoint tooFast = new Endpoint(e.id(), e.project(), e.branch(), e.compute(), EndpointState.RUNNING,
                Optional.of("127.0.0.1:1"), Optional.of(NodeId.of("agent-1")), e.idleTimeout(), Optional.empty(), e.version());
        assertThatThrownBy(() -> store.updateEndpoint(e, tooFast))
                .isInstanceOf(MetadataException.IllegalTransition.class).hasMessageContaining("SUSPENDED to RUNNING");
        assertThat(store.getEndpoint(e.id())).contains(e);
        Endpoint waking = store.updateEndpoint(e, e.waking(NodeId.of("agent-1")));
        assertThatThrownBy(() -> store.deleteEndpoint(waking)).isInstanceOf(MetadataException.IllegalTransition.class)
                .hasMessageContaining("only a SUSPENDED endpoint");
    }

    @Test
    void settingsChangeWithoutAStateChange() {
        Endpoint e = newEndpoint(newProject().id());
        Endpoint bigger = store.updateEndpoint(e, e.withCompute(new ComputeSettings(2000, 4096))
                .withIdleTimeout(Duration.ofMinutes(30)));
        assertThat(store.getEndpoint(e.id()).orElseThrow().compute().memoryMib()).isEqualTo(4096);
        assertThat(bigger.idleTimeout()).isEqualTo(Duration.ofMinutes(30));
    }

    /** Two wakes of one endpoint: both read SUSPENDED, exactly one moves it to WAKING. */
    @Test
    void concurrentWritersExactlyOneWins() throws Exception {
        Endpoint e = newEndpoint(newProject().id());
        int writers = 8;
        List<Callable<Endpoint>> tasks = new ArrayList<>();
        for (int i = 0; i < writers; i++) {
            NodeId agent = NodeId.of("agent-" + i);
            tasks.add(() -> store.updateEndpoint(e, e.waking(agent)));
        }
        List<Object> outcomes = runTogether(tasks);
        List<Endpoint> winners = outcomes.stream().filter(o -> o instanceof Endpoint).map(o -> (Endpoint) o).toList();
        assertThat(winners).hasSize(1);
        assertThat(outcomes).filteredOn(o -> !(o instanceof Endpoint))
                .hasSize(writers - 1).allMatch(o -> o instanceof MetadataException.VersionConflict, "a version conflict");
        assertThat(store.getEndpoint(e.id())).contains(winners.get(0));
        assertThat(winners.get(0).version()).isEqualTo(2);
    }

    // ---------------------------------------------------------------- operations

    @Test
    void operationLifecycleAndListingInCreationOrder() {
        Project p = newProject();
        EndpointId ep = EndpointId.random();
        Operation first = store.createOperation(Operation.schedule(OperationId.random(), p.id(),
                OperationKind.START_COMPUTE, Optional.empty(), Optional.of(ep), NOW));
        Operation second = store.createOperation(Operation.schedule(OperationId.random(), p.id(),
                OperationKind.SUSPEND_COMPUTE, Optional.empty(), Optional.of(ep), NOW.plusSeconds(1)));
        String arn = "arn:aws:states:us-east-1:000000000000:execution:wake:" + first.id();
        Operation running = store.updateOperation(first, first.running(arn, NOW.plusSeconds(2)));
        Operation done = store.updateOperation(running, running.succeeded(NOW.plusSeconds(3)));
        assertThat(store.getOperation(first.id())).contains(done);
        assertThat(done.executionArn()).contains(arn);
        assertThat(store.listOperations(p.id())).containsExactly(done, second);

        assertThatThrownBy(() -> store.updateOperation(done, done.running(arn, NOW)))
                .isInstanceOf(MetadataException.IllegalTransition.class).hasMessageContaining("SUCCEEDED to RUNNING");

        Operation failed = store.updateOperation(second, second.failed("x".repeat(100_000), NOW.plusSeconds(4)));
        assertThat(failed.state()).isEqualTo(OperationState.FAILED);
        assertThat(store.getOperation(second.id()).orElseThrow().error().orElseThrow())
                .hasSize(Names.MAX_ERROR_LENGTH).endsWith("...");
    }

    // ---------------------------------------------------------------- storage nodes

    @Test
    void storageNodesRegisterListAndDrain() {
        String suffix = ProjectId.random().value().substring(2, 10);
        StorageNode sk = store.registerNode(StorageNode.active(NodeId.of("sk-" + suffix), StorageNodeKind.SAFEKEEPER,
                "127.0.0.1:7001"));
        StorageNode ps = store.registerNode(StorageNode.active(NodeId.of("ps-" + suffix), StorageNodeKind.PAGESERVER,
                "127.0.0.1:9001"));
        assertThat(store.listNodes(StorageNodeKind.SAFEKEEPER)).contains(sk).doesNotContain(ps);
        assertThat(store.listNodes(StorageNodeKind.PAGESERVER)).contains(ps);
        StorageNode draining = store.updateNode(sk, sk.withState(StorageNodeState.DRAINING));
        StorageNode gone = store.updateNode(draining, draining.withState(StorageNodeState.DECOMMISSIONED));
        assertThatThrownBy(() -> store.updateNode(gone, gone.withState(StorageNodeState.ACTIVE)))
                .isInstanceOf(MetadataException.IllegalTransition.class);
        store.deleteNode(gone);
        assertThat(store.getNode(sk.id())).isEmpty();
    }

    // ---------------------------------------------------------------- the warm pool

    @Test
    void agentsAreClaimedOnceAndAClaimIsIdempotent() throws Exception {
        String table = "pool-" + ProjectId.random().value();
        MetadataTable.createIfMissing(client(), table);
        MetadataStore pool = new MetadataStore(client(), table);
        for (int i = 0; i < 3; i++) {
            pool.registerAgent(ComputeAgent.idle(NodeId.of("agent-" + i), "127.0.0.1:" + (6000 + i)));
        }
        EndpointId first = EndpointId.random();
        ComputeAgent claimed = pool.claimAgent(first).orElseThrow();
        assertThat(claimed.state()).isEqualTo(AgentState.CLAIMED);
        assertThat(claimed.claimedBy()).contains(first);
        // a retried wake step gets the agent it already holds, not a second one
        assertThat(pool.claimAgent(first)).contains(claimed);
        assertThat(pool.findAgentClaimedBy(first)).contains(claimed);
        assertThat(pool.findAgentClaimedBy(EndpointId.random())).isEmpty();
        assertThat(pool.listAgents(AgentState.IDLE)).hasSize(2);

        // 6 wakes race for the 2 idle agents: each agent goes to exactly one of them
        List<Callable<Optional<ComputeAgent>>> wakes = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            EndpointId ep = EndpointId.random();
            wakes.add(() -> pool.claimAgent(ep));
        }
        List<Object> outcomes = runTogether(wakes);
        Set<NodeId> taken = new HashSet<>();
        Map<EndpointId, NodeId> byEndpoint = new HashMap<>();
        for (Object o : outcomes) {
            assertThat(o).isInstanceOf(Optional.class);
            ((Optional<?>) o).map(ComputeAgent.class::cast).ifPresent(a -> {
                assertThat(taken.add(a.id())).as("agent %s claimed twice", a.id()).isTrue();
                byEndpoint.put(a.claimedBy().orElseThrow(), a.id());
            });
        }
        assertThat(taken).hasSize(2).doesNotContain(claimed.id());
        assertThat(pool.listAgents(AgentState.IDLE)).isEmpty();
        assertThat(pool.claimAgent(EndpointId.random())).isEmpty();

        ComputeAgent released = pool.updateAgent(claimed, claimed.released());
        assertThat(pool.findAgentClaimedBy(first)).isEmpty();
        assertThat(pool.listAgents(AgentState.IDLE)).containsExactly(released);
        ComputeAgent retired = pool.updateAgent(released, released.retired());
        assertThatThrownBy(() -> pool.updateAgent(retired, retired.claimedBy(first)))
                .isInstanceOf(MetadataException.IllegalTransition.class).hasMessageContaining("RETIRED to CLAIMED");
        pool.deleteAgent(retired);
        assertThat(pool.getAgent(claimed.id())).isEmpty();
        client().deleteTable(b -> b.tableName(table));
    }

    // ---------------------------------------------------------------- hostile input

    @Test
    void oversizedAndMalformedInputIsRefusedBeforeAnyWrite() {
        Project p = newProject();
        assertThatThrownBy(() -> Project.create(ProjectId.random(), "n".repeat(Names.MAX_NAME_LENGTH + 1), NOW))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 to 256");
        assertThatThrownBy(() -> Branch.root(p.id(), BranchId.random(), "a\u0000b", TimelineId.random()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("control character");
        assertThatThrownBy(() -> new ComputeSettings(1, 1024)).isInstanceOf(IllegalArgumentException.class);
        Endpoint e = Endpoint.create(EndpointId.random(), p.id(), BranchId.random(), ComputeSettings.DEFAULT,
                Duration.ofMinutes(5));
        assertThatThrownBy(() -> new Endpoint(e.id(), e.project(), e.branch(), e.compute(), EndpointState.WAKING,
                Optional.empty(), Optional.empty(), e.idleTimeout(), Optional.empty(), 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("without a compute agent");
        assertThatThrownBy(() -> Endpoint.create(EndpointId.random(), p.id(), BranchId.random(), ComputeSettings.DEFAULT,
                Duration.ZERO)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("idle timeout");
        // the longest name and non-ASCII text round-trip
        String longest = "é".repeat(Names.MAX_NAME_LENGTH);
        Project q = store.createProject(Project.create(ProjectId.random(), longest, NOW));
        assertThat(store.getProject(q.id()).orElseThrow().name()).isEqualTo(longest);
    }

    @Test
    void anUnknownStateReadBackIsACorruptItemNamingIt() {
        Endpoint e = newEndpoint(newProject().id());
        overwrite(Codecs.endpointKey(e.id()), Codecs.STATE, AttributeValue.fromS("HIBERNATING"));
        assertThatThrownBy(() -> store.getEndpoint(e.id()))
                .isInstanceOf(MetadataException.CorruptItem.class).hasMessageContaining("HIBERNATING")
                .hasMessageContaining("EndpointState").hasMessageContaining("ENDPOINT#" + e.id());
        assertThatThrownBy(() -> store.listEndpoints(e.project())).isInstanceOf(MetadataException.CorruptItem.class);
    }

    @Test
    void invalidIdsAndMissingAttributesReadBackAreCorruptItems() {
        Project p = newProject();
        overwrite(Codecs.projectKey(p.id()), "id", AttributeValue.fromS("../../etc"));
        assertThatThrownBy(() -> store.getProject(p.id())).isInstanceOf(MetadataException.CorruptItem.class)
                .hasMessageContaining("invalid project id");

        Operation o = store.createOperation(Operation.schedule(OperationId.random(), p.id(), OperationKind.CREATE_PROJECT,
                Optional.empty(), Optional.empty(), NOW));
        overwrite(Codecs.operationKey(o.id()), "kind", AttributeValue.fromS("MINE_BITCOIN"));
        assertThatThrownBy(() -> store.getOperation(o.id())).isInstanceOf(MetadataException.CorruptItem.class)
                .hasMessageContaining("MINE_BITCOIN");

        Endpoint e = newEndpoint(p.id());
        overwrite(Codecs.endpointKey(e.id()), "cpuMillis", AttributeValue.fromN("99999999999"));
        assertThatThrownBy(() -> store.getEndpoint(e.id())).isInstanceOf(MetadataException.CorruptItem.class);
        overwrite(Codecs.endpointKey(e.id()), Codecs.VERSION, AttributeValue.fromS("one"));
        assertThatThrownBy(() -> store.getEndpoint(e.id())).isInstanceOf(MetadataException.CorruptItem.class)
                .hasMessageContaining("version");
        // an item of another type under an endpoint key
        overwrite(Codecs.endpointKey(e.id()), Codecs.TYPE, AttributeValue.fromS("project"));
        assertThatThrownBy(() -> store.getEndpoint(e.id())).isInstanceOf(MetadataException.CorruptItem.class)
                .hasMessageContaining("'project'");
    }

    /** Writes one attribute of a stored item by hand, as a newer version or an operator might. */
    private void overwrite(Codecs.Key key, String attribute, AttributeValue value) {
        client().updateItem(b -> b.tableName(TABLE).key(key.toMap()).updateExpression("SET #a = :v")
                .expressionAttributeNames(Map.of("#a", attribute)).expressionAttributeValues(Map.of(":v", value)));
    }

    /** Runs the tasks at once (released by one latch); each outcome is a result or the exception thrown. */
    private static <T> List<Object> runTogether(List<Callable<T>> tasks) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(tasks.size());
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<T>> futures = new ArrayList<>();
            for (Callable<T> t : tasks) {
                futures.add(pool.submit(() -> {
                    go.await();
                    return t.call();
                }));
            }
            go.countDown();
            List<Object> outcomes = new ArrayList<>();
            for (Future<T> f : futures) {
                try {
                    outcomes.add(f.get(120, TimeUnit.SECONDS));
                } catch (java.util.concurrent.ExecutionException e) {
                    outcomes.add(e.getCause());
                }
            }
            return outcomes;
        } finally {
            pool.shutdownNow();
            pool.awaitTermination(30, TimeUnit.SECONDS);
        }
    }
}
