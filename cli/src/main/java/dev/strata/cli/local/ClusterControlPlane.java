package dev.strata.cli.local;

import dev.strata.compute.agent.AgentServer;
import dev.strata.compute.agent.ComputeAgent;
import dev.strata.compute.config.ComputeNetwork;
import dev.strata.control.compute.AgentComputeProvisioner;
import dev.strata.control.compute.ComputeProvisioner;
import dev.strata.control.local.LocalDynamo;
import dev.strata.control.metadata.DynamoClients;
import dev.strata.control.metadata.MetadataException;
import dev.strata.control.metadata.MetadataStore;
import dev.strata.control.metadata.MetadataTable;
import dev.strata.control.model.AgentState;
import dev.strata.control.model.Branch;
import dev.strata.control.model.BranchState;
import dev.strata.control.model.ComputeSettings;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.Project;
import dev.strata.control.runtime.ControlPlane;
import dev.strata.controlapi.ApiException;
import dev.strata.controlapi.ControlApi;
import dev.strata.controlapi.LocalWorkflowLauncher;
import dev.strata.controlapi.OperationRecovery;
import dev.strata.controlapi.http.ControlApiServer;
import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.ProjectId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.postgres.PostgresBinaries;
import dev.strata.statemachines.ControlPlaneFunctions;
import dev.strata.statemachines.LambdaHandlers;
import dev.strata.statemachines.LocalStepFunctions;
import dev.strata.statemachines.RunOptions;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane as the AWS deployment runs it, beside a {@link LocalCluster} (decision 0029):
 * the metadata in dynalite, the local ASL engine running the workflows with their Task states
 * routed to the real handlers in this JVM, a pool of compute agents in this JVM (each with its
 * HTTP API on a loopback port) driven by {@link AgentComputeProvisioner}, and the cluster's
 * {@code ServiceStorageControl} ({@link LocalCluster#storageControl}). {@code strata up} runs it with the control-plane API on loopback
 * ({@link #forCluster}); tests and benches run it without the API ({@link #forTests}).
 *
 * <p>Every agent known to the metadata runs again in this JVM at start (same id, its port kept in
 * {@code cluster.properties} where it has one): an agent's process dies with the JVM, and an agent
 * item that points at nothing would be claimed by the next wake and fail it.
 */
public final class ClusterControlPlane implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ClusterControlPlane.class);
    /** The workflows' bound and retry interval on the local engine. */
    public static final RunOptions RUN_OPTIONS = RunOptions.defaults().withTimeout(Duration.ofMinutes(3))
            .withRetryInterval(Duration.ofMillis(500));
    /**
     * Agents of a local cluster's pool: one, in the main endpoint's old place; a wake that finds none
     * idle (another project's endpoint holds it, or it was retired) launches one more on demand.
     */
    static final int CLUSTER_AGENTS = 1;
    /** The cluster's project, main branch and main endpoint as the metadata names them. */
    public static final ProjectId PROJECT = ProjectId.of(LocalCluster.PROJECT);
    public static final BranchId MAIN_BRANCH = BranchId.of("br-" + LocalCluster.BRANCH);
    public static final EndpointId MAIN_ENDPOINT = EndpointId.of(LocalCluster.ENDPOINT);

    private record LiveAgent(ComputeAgent agent, AgentServer server) {
    }

    /**
     * Where an agent keeps its compute's directory and which port its PostgreSQL listens on (0: any
     * free port). A cluster gives its first agent the main endpoint's old place,
     * {@code computes/main/pgdata} and {@code port.compute}, so that the main endpoint's compute is
     * where scripts and operators always found it (it runs there whenever that agent is free).
     */
    interface AgentPlaces {
        /** The agent's data root ({@code pgdata} in it). */
        Path dataRoot(NodeId id);

        /** The agent's API port (0: any). */
        int apiPort(NodeId id);

        /** The port of the PostgreSQL the agent runs (0: any). */
        int computePort(NodeId id);
    }

    private final LocalCluster cluster;
    private final Path dir;
    private final AgentPlaces places;
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final Map<NodeId, LiveAgent> agents = new ConcurrentHashMap<>();
    private LocalStepFunctions engine;
    private ControlPlane controlPlane;
    private LambdaHandlers functions;
    private LocalWorkflowLauncher launcher;
    private ControlApi api;
    private ControlApiServer server;
    private volatile boolean closed;

    private ClusterControlPlane(LocalCluster cluster, Path dir, AgentPlaces places) {
        this.cluster = cluster;
        this.dir = dir;
        this.places = places;
    }

    /**
     * For tests and benches: its own dynalite under {@code dir/dynamo}, table {@code strata-local},
     * {@code agentCount} agents on any free ports, no API; {@code wrap} may decorate the provisioner.
     */
    public static ClusterControlPlane forTests(LocalCluster cluster, Path dir, int agentCount,
                                               UnaryOperator<ComputeProvisioner> wrap) {
        ClusterControlPlane cp = new ClusterControlPlane(cluster, dir, new AgentPlaces() {
            @Override
            public Path dataRoot(NodeId id) {
                return dir.resolve("agents").resolve(id.toString());
            }

            @Override
            public int apiPort(NodeId id) {
                return 0;
            }

            @Override
            public int computePort(NodeId id) {
                return 0;
            }
        });
        try {
            LocalDynamo dynamo = LocalDynamo.start(dir.resolve("dynamo"));
            cp.resources.add(dynamo);
            cp.assemble(dynamo, "strata-local", agentCount, wrap);
            return cp;
        } catch (RuntimeException | Error e) {
            cp.close();
            throw e;
        }
    }

    /**
     * For {@code strata up}: over the cluster's dynalite (which the cluster owns) and table, the
     * project, main branch and main endpoint of the cluster adopted into the metadata (first start)
     * or brought up to date (every later one), the operations a crash left unfinished run again
     * ({@link OperationRecovery}), endpoints the metadata says RUNNING suspended (their computes
     * died with the previous JVM), and the API on 127.0.0.1.
     *
     * @param places each agent's directory and ports
     */
    static ClusterControlPlane forCluster(LocalCluster cluster, LocalDynamo dynamo, Path dir, AgentPlaces places,
                                          Duration idleTimeout) {
        ClusterControlPlane cp = new ClusterControlPlane(cluster, dir, places);
        try {
            cp.assemble(dynamo, MetadataTable.DEFAULT_NAME, CLUSTER_AGENTS, p -> p);
            cp.adopt(cluster.timeline(), idleTimeout);
            cp.streamMetadataTimelines();
            cp.launcher = new LocalWorkflowLauncher(cp.engine, cp.functions, cp.store(), Clock.systemUTC(), RUN_OPTIONS);
            cp.resources.add(cp.launcher);
            cp.api = new ControlApi(cp.store(), cp.launcher, Clock.systemUTC());
            OperationRecovery.Report recovered = new OperationRecovery(cp.store(), cp.launcher).recoverAll();
            if (!recovered.relaunched().isEmpty() || !recovered.left().isEmpty()) {
                log.info("operation recovery: {} relaunched, {} left: {}", recovered.relaunched().size(),
                        recovered.left().size(), recovered.left().values());
            }
            cp.suspendOrphans();
            cp.server = ControlApiServer.start(cp.api, cluster.auth().verifier(), "127.0.0.1", 0);
            cp.resources.add(cp.server);
            return cp;
        } catch (RuntimeException | Error e) {
            cp.close();
            throw e;
        }
    }

    private void assemble(LocalDynamo dynamo, String table, int agentCount, UnaryOperator<ComputeProvisioner> wrap) {
        engine = LocalStepFunctions.start();
        resources.add(engine);
        MetadataTable.createIfMissing(dynamo.client(), table);
        ComputeProvisioner compute = wrap.apply(new AgentComputeProvisioner(new AgentComputeProvisioner.AgentLauncher() {
            @Override
            public String launch(NodeId id) {
                return address(startAgent(id));
            }

            @Override
            public void retire(dev.strata.control.model.ComputeAgent agent) {
                LiveAgent a = agents.remove(agent.id());
                if (a != null) {
                    a.server().close();
                    a.agent().close();
                }
            }
        }, cluster.auth().issuer(), Clock.systemUTC(), Duration.ofSeconds(120)));
        controlPlane = ControlPlane.create(() -> DynamoClients.local(dynamo.endpoint()), table, compute,
                cluster.storageControl(), Clock.systemUTC());
        resources.add(controlPlane);
        functions = ControlPlaneFunctions.on(controlPlane);
        // The agents the metadata knows (a previous run's pool, agents launched on demand) run again
        // under their ids; then the pool is topped up to agentCount.
        List<dev.strata.control.model.ComputeAgent> known = new ArrayList<>(store().listAgents(AgentState.IDLE));
        known.addAll(store().listAgents(AgentState.CLAIMED));
        for (dev.strata.control.model.ComputeAgent a : known) {
            String address = address(startAgent(a.id()));
            if (!address.equals(a.address())) {
                store().updateAgent(a, new dev.strata.control.model.ComputeAgent(a.id(), address, a.state(),
                        a.claimedBy(), a.version()));
            }
        }
        for (int i = 1; agents.size() < agentCount; i++) {
            NodeId id = NodeId.of("agent-" + i);
            if (agents.containsKey(id)) {
                continue;
            }
            Optional<dev.strata.control.model.ComputeAgent> old = store().getAgent(id);
            String address = address(startAgent(id));
            if (old.isEmpty()) {
                store().registerAgent(dev.strata.control.model.ComputeAgent.idle(id, address));
            } else { // retired earlier: a fresh process under the same id, back in the pool
                store().updateAgent(old.get(), new dev.strata.control.model.ComputeAgent(id, address, AgentState.IDLE,
                        Optional.empty(), old.get().version()));
            }
        }
    }

    private LiveAgent startAgent(NodeId id) {
        if (closed) {
            throw new IllegalStateException("the control plane is closing; no agent is launched");
        }
        int port = places.apiPort(id);
        ComputeAgent agent = new ComputeAgent(new ComputeAgent.Config(places.dataRoot(id),
                "127.0.0.1", cluster.pageserver().pageServicePort(), cluster.members(), places.computePort(id),
                LocalCluster.DB_USER,
                cluster.dbPassword(), ComputeNetwork.LOOPBACK, cluster.computeSettings(), Duration.ofSeconds(60)),
                PostgresBinaries.resolve());
        AgentServer server;
        try {
            try {
                server = AgentServer.start(agent, cluster.auth().verifier(), "127.0.0.1", port);
            } catch (java.io.IOException | RuntimeException e) {
                if (port == 0) {
                    throw e;
                }
                log.warn("agent {}: port {} is taken ({}); taking any free port", id, port, e.getMessage());
                server = AgentServer.start(agent, cluster.auth().verifier(), "127.0.0.1", 0);
            }
        } catch (java.io.IOException e) {
            agent.close();
            throw new java.io.UncheckedIOException("cannot start the API of agent " + id + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            agent.close();
            throw e;
        }
        LiveAgent live = new LiveAgent(agent, server);
        agents.put(id, live);
        return live;
    }

    private static String address(LiveAgent a) {
        return "127.0.0.1:" + a.server().port();
    }

    /**
     * The cluster's project, main branch (on the cluster's main timeline: adopted, not created) and
     * main endpoint in the metadata; each written only if missing or different, so every start after
     * the first writes nothing.
     */
    private void adopt(TimelineId timeline, Duration idleTimeout) {
        MetadataStore store = store();
        if (store.getProject(PROJECT).isEmpty()) {
            try {
                store.createProject(Project.create(PROJECT, LocalCluster.PROJECT, Clock.systemUTC().instant()));
            } catch (MetadataException.AlreadyExists raced) {
                // written by an earlier attempt
            }
        }
        Branch main = store.getBranch(PROJECT, MAIN_BRANCH).orElse(null);
        if (main != null && !main.timeline().equals(timeline) && main.state() == BranchState.READY
                && restoredThroughTheApi(main, timeline)) {
            // The API's restore moved main (the cluster's timeline is its backup branch now): the
            // cluster follows the metadata, not the other way round.
            cluster.followMain(main.timeline());
            timeline = main.timeline();
        }
        if (main == null) {
            main = store.createBranch(Branch.root(PROJECT, MAIN_BRANCH, LocalCluster.BRANCH, timeline)
                    .withState(BranchState.READY));
        } else if (!main.timeline().equals(timeline) || main.state() != BranchState.READY) {
            main = store.updateBranch(main, main.withTimeline(timeline).withState(BranchState.READY));
        }
        Endpoint ep = store.getEndpoint(MAIN_ENDPOINT).orElse(null);
        if (ep == null) {
            store.createEndpoint(Endpoint.create(MAIN_ENDPOINT, PROJECT, MAIN_BRANCH, ComputeSettings.DEFAULT,
                    idleTimeout));
        } else if (!ep.idleTimeout().equals(idleTimeout)) {
            store.updateEndpoint(ep, ep.withIdleTimeout(idleTimeout));
        }
        log.info("control plane: project {}, branch {} on timeline {}, endpoint {}", PROJECT, main.id(), timeline,
                MAIN_ENDPOINT);
    }

    /**
     * Whether the metadata's main moved away from the cluster's {@code clusterTimeline} by a restore
     * through the API: the cluster's timeline is another branch of the metadata (the restore's
     * backup) and main's is on the pageserver. A restore on the admin port
     * ({@code --no-control-plane}) makes a timeline the metadata does not know: then the metadata
     * follows the cluster.
     */
    private boolean restoredThroughTheApi(Branch main, TimelineId clusterTimeline) {
        boolean clusterTimelineIsABranch = store().listBranches(PROJECT).stream()
                .anyMatch(b -> !b.id().equals(main.id()) && b.timeline().equals(clusterTimeline));
        return clusterTimelineIsABranch && cluster.pageserver().hasTimeline(main.timeline());
    }

    /**
     * The pageserver learns where to stream each timeline's WAL from at every start; the cluster
     * does it for its own branches, this for the branches the workflows made (their timelines are
     * the metadata's only).
     */
    private void streamMetadataTimelines() {
        for (Project p : store().listProjects()) {
            for (Branch b : store().listBranches(p.id())) {
                if (b.state() == BranchState.DELETING || !cluster.pageserver().hasTimeline(b.timeline())) {
                    continue;
                }
                try {
                    cluster.pageserver().setWalSources(b.timeline(), cluster.walSources());
                } catch (RuntimeException e) {
                    log.warn("branch {} ({}): cannot give the pageserver its WAL sources: {}", b.name(), b.timeline(),
                            e.getMessage());
                }
            }
        }
    }

    /**
     * A restore moved the main branch to {@code timeline}: the metadata's branch follows, and the
     * main endpoint's compute (on the old timeline) is stopped on its agent; the metadata still says
     * RUNNING, so a wake finds it dead and starts it again, on the new timeline (the path of a
     * compute that died, {@link ControlPlaneComputeControl}). Returns whether it was stopped.
     */
    boolean repointMain(TimelineId timeline) {
        Branch main = store().getBranch(PROJECT, MAIN_BRANCH).orElseThrow();
        if (!main.timeline().equals(timeline)) {
            store().updateBranch(main, main.withTimeline(timeline));
        }
        Endpoint e = store().getEndpoint(MAIN_ENDPOINT).orElseThrow();
        if (e.agent().isPresent() && agents.containsKey(e.agent().get())) {
            return agents.get(e.agent().get()).agent().stop(MAIN_ENDPOINT);
        }
        return false;
    }

    /**
     * Every compute of the previous run died with its JVM: an endpoint still RUNNING in the metadata
     * is suspended through the suspend workflow (its agent reports it not running: no sessions), so
     * what the metadata shows is true and the next connection wakes a new compute.
     */
    private void suspendOrphans() {
        for (Project p : store().listProjects()) {
            for (Endpoint e : store().listEndpoints(p.id())) {
                if (e.state() == EndpointState.RUNNING && !computeRuns(e)) {
                    try {
                        api.suspendEndpoint(e.id());
                        log.info("endpoint {} was RUNNING on a compute that no longer runs; suspending it", e.id());
                    } catch (ApiException ex) {
                        log.warn("endpoint {}: could not schedule its suspend: {}", e.id(), ex.getMessage());
                    }
                }
            }
        }
    }

    /** Whether the endpoint's compute runs on its agent in this JVM, at the address the metadata names. */
    boolean computeRuns(Endpoint e) {
        if (e.agent().isEmpty() || e.address().isEmpty()) {
            return false;
        }
        LiveAgent a = agents.get(e.agent().get());
        if (a == null) {
            return false;
        }
        ComputeAgent.Status s = a.agent().status();
        return "running".equals(s.state()) && e.id().equals(s.endpoint()) && s.running() != null
                && e.address().get().equals(s.running().host() + ":" + s.running().port());
    }

    /** Whether the endpoint's agent in this JVM ran its compute and the compute died (killed, crashed). */
    boolean computeFailed(Endpoint e) {
        LiveAgent a = e.agent().map(agents::get).orElse(null);
        if (a == null) {
            return false;
        }
        ComputeAgent.Status s = a.agent().status();
        return "failed".equals(s.state()) && e.id().equals(s.endpoint());
    }

    public MetadataStore store() {
        return controlPlane.metadata();
    }

    /** The local ASL engine the workflows run on. */
    public LocalStepFunctions engine() {
        return engine;
    }

    /** The Task states' routing to the real handlers on this control plane. */
    public LambdaHandlers functions() {
        return functions;
    }

    /** The in-process API ({@link #forCluster} only): what the HTTP API serves and the proxy's wake calls. */
    public ControlApi api() {
        return api;
    }

    /** Where the control-plane API listens ({@link #forCluster} only). */
    public java.net.URI apiUrl() {
        return server.url();
    }

    /** An agent running in this JVM, or null. */
    public ComputeAgent agent(NodeId id) {
        LiveAgent a = agents.get(id);
        return a == null ? null : a.agent();
    }

    /** Completes when this JVM's launcher has ended the execution it started for {@code op} (see the launcher). */
    java.util.concurrent.CompletableFuture<Void> executionEnded(dev.strata.control.model.OperationId op) {
        return launcher == null ? new java.util.concurrent.CompletableFuture<>() : launcher.ended(op);
    }

    void stopWaiting(dev.strata.control.model.OperationId op, java.util.concurrent.CompletableFuture<Void> ended) {
        if (launcher != null) {
            launcher.stopWaiting(op, ended);
        }
    }

    /** The launcher's executions still running (for status). */
    int runningExecutions() {
        return launcher == null ? 0 : launcher.running();
    }

    @Override
    public void close() {
        closed = true;
        RuntimeException first = null;
        // The API and the launcher first (no new executions), then the agents (their computes stop),
        // then the engine and the metadata clients.
        List<AutoCloseable> order = new ArrayList<>(resources);
        for (AutoCloseable r : order.reversed()) {
            if (r instanceof LocalStepFunctions || r instanceof ControlPlane || r instanceof LocalDynamo) {
                continue;
            }
            first = closeQuietly(r, first);
        }
        for (LiveAgent a : agents.values()) {
            first = closeQuietly(a.server(), first);
            first = closeQuietly(a.agent(), first);
        }
        agents.clear();
        for (AutoCloseable r : order.reversed()) {
            if (r instanceof LocalStepFunctions || r instanceof ControlPlane || r instanceof LocalDynamo) {
                first = closeQuietly(r, first);
            }
        }
        resources.clear();
        if (first != null) {
            throw first;
        }
    }

    private static RuntimeException closeQuietly(AutoCloseable r, RuntimeException first) {
        try {
            r.close();
        } catch (Exception e) {
            log.warn("closing {} failed: {}", r.getClass().getSimpleName(), e.toString());
            if (first == null) {
                return e instanceof RuntimeException re ? re : new IllegalStateException(e);
            }
        }
        return first;
    }
}
