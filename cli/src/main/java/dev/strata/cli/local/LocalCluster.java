package dev.strata.cli.local;

import dev.strata.control.storage.BranchPoints;
import dev.strata.control.storage.BranchTarget;

import dev.strata.compute.node.ComputeNode;
import dev.strata.control.model.Branch;
import dev.strata.compute.node.ComputeSpec;
import dev.strata.compute.node.ComputeState;
import dev.strata.compute.node.StartedCompute;
import dev.strata.control.local.LocalDynamo;
import dev.strata.control.metadata.MetadataTable;
import dev.strata.control.storage.ServiceStorageControl;
import dev.strata.control.storage.StorageControl;
import dev.strata.pageserver.http.Dto;
import dev.strata.remote.Generation;
import dev.strata.remote.RemoteStorageConfig;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.fs.FileTrees;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.net.LoopbackPorts;
import dev.strata.pgcore.postgres.PostgresBinaries;
import dev.strata.proxy.ProxyConfig;
import dev.strata.proxy.ProxyServer;
import dev.strata.proxy.wake.EndpointStatus;
import dev.strata.safekeeper.election.Proposer;
import dev.strata.safekeeper.node.SafekeeperConfig;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole system on one machine (architecture §1, "runs as (local)"): three safekeepers
 * and a pageserver in this JVM, a PostgreSQL 17 compute as a child process, and the proxy.
 * The first start creates project {@value #PROJECT} with branch {@value #BRANCH} (a timeline
 * imported from initdb); every later start finds it in the data directory as it was left.
 *
 * <p>A compute that dies is replaced from the pageserver by itself (a new term) on the same
 * port, so a client that reconnects simply continues.
 */
public final class LocalCluster implements AutoCloseable {

    public static final String PROJECT = "default";
    public static final String BRANCH = "main";
    public static final String ENDPOINT = "main";
    public static final String DB_USER = "postgres";
    /** Branches a local project may have (restores count: each keeps a backup branch). */
    public static final int MAX_BRANCHES = 64;
    private static final List<String> SAFEKEEPERS = List.of("sk-1", "sk-2", "sk-3");
    private static final String REPLICATION_USER = "strata_replicator";
    private static final Logger log = LoggerFactory.getLogger(LocalCluster.class);

    /**
     * What `up` may choose.
     *
     * @param proxyPort      the proxy's port (0: any free port, for tests)
     * @param childProcesses run the safekeepers and the pageserver as their own JVMs (so one can
     *                       crash, or be killed by a test, without the others); else in this JVM
     * @param idleTimeout    how long the endpoint may have no client connection before its compute
     *                       is suspended (the next connection wakes it)
     * @param safekeepersInProcess with {@code childProcesses}: the safekeepers still in this JVM,
     *                       only the pageserver a child (tests that kill the pageserver alone
     *                       start three JVMs fewer)
     * @param controlPlane   run the control plane (decision 0029): the main endpoint is woken and
     *                       suspended by the wake and suspend workflows on the control plane's
     *                       agents, and the control-plane API listens on loopback; else the
     *                       cluster starts and stops the main endpoint's compute itself
     *                       ({@code strata up --no-control-plane}, and tests that drive the compute)
     */
    public record Options(int proxyPort, boolean childProcesses, Duration idleTimeout,
                          Map<String, String> computeSettings, boolean safekeepersInProcess, boolean controlPlane) {
        public static final Options DEFAULTS = new Options(ProxyConfig.DEFAULT_PORT, false, Duration.ofSeconds(300));

        public Options(int proxyPort, boolean childProcesses, Duration idleTimeout) {
            this(proxyPort, childProcesses, idleTimeout, Map.of());
        }

        public Options(int proxyPort, boolean childProcesses, Duration idleTimeout, Map<String, String> computeSettings) {
            this(proxyPort, childProcesses, idleTimeout, computeSettings, false, false);
        }

        /** Without the control plane (the record's shape before decision 0029). */
        public Options(int proxyPort, boolean childProcesses, Duration idleTimeout, Map<String, String> computeSettings,
                       boolean safekeepersInProcess) {
            this(proxyPort, childProcesses, idleTimeout, computeSettings, safekeepersInProcess, false);
        }

        /** These options with the safekeepers in this JVM (and the pageserver a child if {@code childProcesses}). */
        public Options withSafekeepersInProcess() {
            return new Options(proxyPort, childProcesses, idleTimeout, computeSettings, true, controlPlane);
        }

        /** These options with (or without) the control plane owning the main endpoint's compute. */
        public Options withControlPlane(boolean on) {
            return new Options(proxyPort, childProcesses, idleTimeout, computeSettings, safekeepersInProcess, on);
        }

        public Options {
            if (idleTimeout == null || !idleTimeout.isPositive()) {
                throw new IllegalArgumentException("idle timeout must be positive, got " + idleTimeout);
            }
            computeSettings = Map.copyOf(computeSettings);
        }

        /**
         * These options with extra compute settings (PostgreSQL's, and the agent's
         * {@code strata.*} ones such as {@code strata.max_replication_flush_lag}).
         */
        public Options withComputeSettings(Map<String, String> settings) {
            return new Options(proxyPort, childProcesses, idleTimeout, settings, safekeepersInProcess, controlPlane);
        }
    }

    private final ClusterLayout layout;
    private final ClusterState state;
    private final Consumer<String> progress;
    private final List<LocalSafekeeper> safekeepers = new ArrayList<>();
    private final Options options;
    private final ScheduledExecutorService supervisor = Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().name("strata-supervisor").daemon(true).unstarted(r));
    private LocalPageserver pageserver;
    private LocalObjectStore objectStore;
    private LocalDynamo dynamo;
    private ProxyServer proxy;
    private LocalComputeControl control;
    /** How long a clean stop waits for the running endpoints' suspends ({@link #close}). */
    static final Duration SUSPEND_AT_STOP = Duration.ofSeconds(60);
    /** The control plane (decision 0029), when {@link Options#controlPlane}; null otherwise. */
    private volatile ClusterControlPlane controlPlane;
    private volatile ControlPlaneComputeControl controlPlaneCompute;
    /** Signs the tokens every component presents to the others' listeners. */
    private final ClusterAuth auth;
    /** The project's branches as cluster.properties keeps them; changed only under {@link #branchLock}. */
    private LocalBranches branches;
    /** Each branch's endpoint, by branch name. */
    private final Map<String, LocalEndpoint> endpoints = new ConcurrentHashMap<>();
    /** Serializes branch creation, deletion and restore (metadata and timelines change together). */
    private final Object branchLock = new Object();
    private final Clock clock;
    /** The step where the next operation stops as if crashed (tests); null in use. */
    private volatile String faultPoint;
    /** The safekeepers' walsenders, as the pageserver is told at every start. */
    private List<LocalPageserver.WalSource> walSources = List.of();
    private StorageControl storageControl; // guarded by this; made on first use
    private List<Proposer.Member> members = List.of();
    private String dbPassword;
    private volatile boolean closing;

    private LocalCluster(ClusterLayout layout, Options options, Consumer<String> progress) {
        this.layout = layout;
        this.options = options;
        try {
            PrivateFiles.createRoot(layout.root());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the data directory " + layout.root() + ": " + e.getMessage(), e);
        }
        refuseDataWithoutState(layout);
        this.state = ClusterState.loadOrCreate(layout.stateFile());
        this.auth = ClusterAuth.loadOrCreate(layout.authDir());
        this.progress = progress;
        this.clock = Clock.systemDefaultZone();
    }

    /**
     * Cluster data without {@code cluster.properties} means its passwords and ids are lost:
     * starting a new project would put new passwords over data made with the old ones.
     * (The state is saved, durably, before any component writes data; so this is damage or
     * a hand-made deletion, never a crash.)
     */
    private static void refuseDataWithoutState(ClusterLayout layout) {
        if (Files.exists(layout.stateFile())) {
            return;
        }
        for (Path data : List.of(layout.pageserverDir(), layout.root().resolve("safekeepers"))) {
            if (Files.isDirectory(data)) {
                throw new IllegalStateException("the data directory " + layout.root() + " holds cluster data (" + data
                        .getFileName() + "/) but no " + layout.stateFile().getFileName() + " with its ids and passwords;"
                        + " refusing to start a new project over it (remove the directory to start over)");
            }
        }
    }

    /** Starts everything and the compute of branch main. */
    public static LocalCluster start(ClusterLayout layout, Options options, Consumer<String> progress) {
        LocalCluster c = new LocalCluster(layout, options, progress);
        try {
            c.startAll();
            return c;
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    private void startAll() {
        boolean firstRun = state.get("timeline").isEmpty();
        String replicationPassword = state.secret("replication.password");
        dbPassword = state.secret("db.password");
        state.save();

        // The object store first: the safekeepers offload WAL to it (docs/safekeeper.md, "WAL offload").
        progress.accept("starting the object store (S3)");
        objectStore = LocalObjectStore.start(layout.objectStoreDir(), port("port.s3"), state.secret("s3.secret"));
        state.save();

        progress.accept("starting 3 safekeepers");
        Map<String, int[]> ports = new HashMap<>();
        for (String id : SAFEKEEPERS) {
            ports.put(id, new int[] {port("port." + id + ".http"), port("port." + id + ".walsender")});
        }
        state.save();
        for (String id : SAFEKEEPERS) {
            Map<NodeId, URI> peers = new HashMap<>();
            for (String other : SAFEKEEPERS) {
                if (!other.equals(id)) {
                    peers.put(NodeId.of(other), URI.create("http://127.0.0.1:" + ports.get(other)[0]));
                }
            }
            // Each safekeeper checks callers against the cluster's keys and presents a
            // safekeeperdata token of its own to peers (WAL recovery).
            SafekeeperConfig config = new SafekeeperConfig(NodeId.of(id), layout.safekeeperDir(id), "127.0.0.1",
                    ports.get(id)[1], ports.get(id)[0], peers, REPLICATION_USER, replicationPassword,
                    Duration.ofMillis(100), auth.verifier(), auth.token(Scope.SAFEKEEPER_DATA, id), objectStore.config());
            safekeepers.add(options.childProcesses() && !options.safekeepersInProcess()
                    ? LocalSafekeepers.child(config, layout.root().resolve("safekeepers").resolve(id + ".log"),
                            auth.publicKeysFile(), auth.tokenFile(Scope.SAFEKEEPER_DATA, id),
                            auth.token(Scope.SAFEKEEPER_DATA, "cli"))
                    : LocalSafekeepers.inProcess(config));
        }

        // The control plane's metadata (decision 0017). Nothing reads it yet: the handlers and
        // workflows that will (issue 15) come next; it runs now so its directory and port are
        // part of every cluster from here on.
        progress.accept("starting the metadata store (dynalite)");
        try {
            PrivateFiles.createPrivateDirectory(layout.dynamoDir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + layout.dynamoDir() + ": " + e.getMessage(), e);
        }
        dynamo = LocalDynamo.start(layout.dynamoDir(), port("port.dynamo")).createTables(MetadataTable.DEFAULT_NAME);
        state.save();

        progress.accept("starting the pageserver");
        RemoteStorageConfig remote = nextGeneration();
        if (options.childProcesses()) {
            int http = port("port.pageserver.http");
            int pageService = port("port.pageserver.pageservice");
            state.save();
            pageserver = LocalPageservers.child(layout.pageserverDir(), http, pageService,
                    layout.root().resolve("pageserver.log"), auth.publicKeysFile(),
                    auth.token(Scope.PAGESERVER_API, "cli"), remote);
        } else {
            pageserver = LocalPageservers.inProcess(layout.pageserverDir(), auth.verifier(), remote);
        }
        List<LocalPageserver.WalSource> sources = new ArrayList<>();
        for (LocalSafekeeper sk : safekeepers) {
            sources.add(new LocalPageserver.WalSource("127.0.0.1", sk.walsenderPort(), REPLICATION_USER,
                    replicationPassword));
        }
        walSources = List.copyOf(sources);

        branches = new LocalBranches(state);
        if (firstRun) {
            TimelineId timeline = TimelineId.random();
            progress.accept("creating project '" + PROJECT + "', branch '" + BRANCH + "' (initdb, import into the "
                    + "pageserver)");
            LocalPageserver.CreatedTimeline created = pageserver.createTimeline(timeline, DB_USER, dbPassword);
            for (LocalSafekeeper sk : safekeepers) {
                sk.createTimeline(timeline, created.systemId(), created.walSegmentSize(), created.startLsn());
            }
            state.put("project", PROJECT);
            branches.apply(List.of(new LocalBranch(BRANCH, timeline, Optional.empty(), Optional.empty(),
                    EndpointId.of(ENDPOINT), clock.instant())), List.of());
        } else {
            // Parents first: a child timeline reads its ancestor's history, so an attach from the
            // object store needs the ancestor there before it.
            for (LocalBranch b : parentsFirst(branches.all())) {
                attachIfLost(b, remote);
            }
            for (LocalBranch b : branches.all().values()) {
                recreateLostSafekeeperTimelines(b);
            }
        }
        for (LocalBranch b : branches.all().values()) {
            pageserver.setWalSources(b.timeline(), sources);
        }
        recoverPending();

        List<Proposer.Member> m = new ArrayList<>();
        for (LocalSafekeeper sk : safekeepers) {
            m.add(new Proposer.Member(sk.id(), sk.url()));
        }
        members = List.copyOf(m);
        for (LocalBranch b : branches.all().values()) {
            endpoints.put(b.name(), new LocalEndpoint(b, this::computeFor, progress));
        }
        state.save();
        if (!options.controlPlane()) {
            startCompute();
        }
        supervisor.scheduleWithFixedDelay(this::superviseComputes, 1, 1, TimeUnit.SECONDS);
        control = new LocalComputeControl(this, options.idleTimeout());
        dev.strata.proxy.wake.ComputeControl proxyControl = control;
        if (options.controlPlane()) {
            proxyControl = startControlPlane();
        }

        progress.accept("starting the proxy on 127.0.0.1:" + options.proxyPort() + " (wake on connect, suspend after "
                + options.idleTimeout().toSeconds() + " s idle)");
        proxy = ProxyServer.start(ProxyConfig.defaults().withPort(options.proxyPort())
                .withTlsDirectory(layout.proxyDir()), proxyControl);
        if (controlPlaneCompute != null) {
            // As without the control plane, `up` is ready once the main endpoint answers queries:
            // its first wake (the engine's first execution, a cold basebackup) is paid here, not by
            // the first client, whose proxy would give up on a wake after 30 s.
            progress.accept("waking endpoint " + ENDPOINT + " through the wake workflow");
            controlPlaneCompute.wakeNow(ClusterControlPlane.MAIN_ENDPOINT);
        }
    }

    /**
     * The control plane over this cluster (decision 0029): the local ASL engine, the agents, the
     * main endpoint adopted into the metadata, unfinished operations recovered, the API on loopback
     * with its URL in {@code control-api.url} and a {@code controlapi} token in
     * {@code auth/controlapi.token} (mode 600), which the `strata project|endpoint|operation`
     * commands read. Returns the proxy's compute control over it.
     */
    private ControlPlaneComputeControl startControlPlane() {
        progress.accept("starting the control plane (local Step Functions engine, compute agents, API)");
        NodeId first = NodeId.of("agent-1");
        controlPlane = ClusterControlPlane.forCluster(this, dynamo, layout.root().resolve("control"),
                new ClusterControlPlane.AgentPlaces() {
                    @Override
                    public Path dataRoot(NodeId id) {
                        return id.equals(first) ? layout.computeDataDir(ENDPOINT).getParent()
                                : layout.root().resolve("control").resolve("agents").resolve(id.toString());
                    }

                    @Override
                    public int apiPort(NodeId id) {
                        return savedPort("port.agent." + id);
                    }

                    @Override
                    public int computePort(NodeId id) {
                        return id.equals(first) ? savedPort("port.compute") : 0;
                    }
                }, options.idleTimeout());
        try {
            auth.tokenFile(Scope.CONTROL_API, "controlapi");
            PrivateFiles.writeSecret(controlApiUrlFile(), controlPlane.apiUrl() + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + controlApiUrlFile() + ": " + e.getMessage(), e);
        }
        progress.accept("control-plane API on " + controlPlane.apiUrl());
        controlPlaneCompute = new ControlPlaneComputeControl(controlPlane, control, options.idleTimeout());
        return controlPlaneCompute;
    }

    private int savedPort(String key) {
        synchronized (state) {
            int p = port(key);
            state.save();
            return p;
        }
    }

    /** Where `strata up` writes the control-plane API's URL (the cli's project/endpoint/operation commands read it). */
    public Path controlApiUrlFile() {
        return layout.root().resolve("control-api.url");
    }

    /** The control plane, if this cluster runs it. */
    public Optional<ClusterControlPlane> controlPlane() {
        return Optional.ofNullable(controlPlane);
    }

    /** The compute settings every compute of this cluster gets. */
    Map<String, String> computeSettings() {
        return options.computeSettings();
    }

    /**
     * A new attach generation (decision 0016), raised at every start of the pageserver and saved
     * before it runs: whatever an earlier run left running could write only keys of its own,
     * older generation.
     */
    private RemoteStorageConfig nextGeneration() {
        long generation = Long.parseLong(state.get("pageserver.generation").orElse("0")) + 1;
        state.put("pageserver.generation", Long.toString(generation));
        state.save();
        return new RemoteStorageConfig(objectStore.config(), Generation.of(generation), null);
    }

    /**
     * If the pageserver's directory lost the branch's timeline (a deleted or replaced disk),
     * attaches it from the object store: the index only, layers on demand, WAL from the
     * safekeepers after the remote-consistent LSN (docs/pageserver.md, "Attach").
     */
    private void attachIfLost(LocalBranch branch, RemoteStorageConfig remote) {
        TimelineId timeline = branch.timeline();
        if (pageserver.hasTimeline(timeline)) {
            return;
        }
        progress.accept("the pageserver in " + layout.pageserverDir() + " has no timeline " + timeline
                + " (branch '" + branch.name() + "'): attaching it from the object store (generation "
                + remote.generation() + ")");
        try {
            pageserver.attachTimeline(timeline, walSources);
        } catch (RuntimeException e) {
            throw new IllegalStateException("the pageserver in " + layout.pageserverDir() + " has no timeline "
                    + timeline + " of branch " + branch.name() + " and the object store in " + layout.objectStoreDir()
                    + " could not give it back (" + e.getMessage() + "); the data directory " + layout.root()
                    + " is incomplete (remove it to start over)", e);
        }
        log.info("timeline={} attached from the object store under generation {}", timeline, remote.generation());
    }

    /**
     * If a safekeeper's directory lost the branch's timeline while the cluster was down (a
     * deleted or replaced disk), makes the timeline there again, empty: the next compute brings
     * it into the term and it copies the committed WAL it lacks from its peers and the object
     * store before it takes new WAL (docs/safekeeper.md, "WAL offload"). An empty member never
     * outvotes one with WAL, but only while a quorum still has the timeline: with fewer, an
     * election among the empty ones could forget acknowledged commits, so the start stops.
     */
    private void recreateLostSafekeeperTimelines(LocalBranch branch) {
        TimelineId timeline = branch.timeline();
        List<LocalSafekeeper> lost = new ArrayList<>();
        for (LocalSafekeeper sk : safekeepers) {
            if (!sk.hasTimeline(timeline)) {
                lost.add(sk);
            }
        }
        if (lost.isEmpty()) {
            return;
        }
        List<String> names = lost.stream().map(sk -> sk.id().toString()).toList();
        int quorum = safekeepers.size() / 2 + 1;
        if (safekeepers.size() - lost.size() < quorum) {
            throw new IllegalStateException("safekeepers " + names + " have no timeline " + timeline + " (branch '"
                    + branch.name() + "'): fewer than a quorum (" + quorum + " of " + safekeepers.size()
                    + ") still hold its WAL, so commits acknowledged by the lost ones may exist nowhere else "
                    + "but the object store; not starting. The data directory is " + layout.root());
        }
        LocalPageserver.BranchedTimeline identity = pageserver.branchOf(timeline);
        for (LocalSafekeeper sk : lost) {
            progress.accept("safekeeper " + sk.id() + " has no timeline " + timeline + " (branch '" + branch.name()
                    + "'): making it again, empty; it recovers the WAL from its peers and the object store");
            sk.createTimeline(timeline, identity.systemId(), identity.walSegmentSize(), identity.branchLsn());
        }
        log.info("timeline={} made again on {} (WAL from {})", timeline, names, identity.branchLsn());
    }

    /** The branches ordered so that each comes after the branch it was made from. */
    private static List<LocalBranch> parentsFirst(Map<String, LocalBranch> all) {
        List<LocalBranch> out = new ArrayList<>();
        java.util.Set<String> placed = new java.util.HashSet<>();
        while (out.size() < all.size()) {
            int before = out.size();
            for (LocalBranch b : all.values()) {
                if (!placed.contains(b.name()) && (b.parent().isEmpty() || placed.contains(b.parent().get())
                        || !all.containsKey(b.parent().get()))) {
                    out.add(b);
                    placed.add(b.name());
                }
            }
            if (out.size() == before) {
                throw new IllegalStateException("the branches in cluster.properties form a cycle: " + all.keySet());
            }
        }
        return out;
    }

    /**
     * Starts the (killed) pageserver again under a new generation, as {@code strata up} would:
     * if its directory is gone, it attaches the timeline from the object store and catches up
     * from the safekeepers. Child processes only.
     */
    public synchronized void restartPageserver() {
        if (pageserver.isAlive()) {
            pageserver.kill();
        }
        RemoteStorageConfig remote = nextGeneration();
        progress.accept("starting the pageserver again (generation " + remote.generation() + ")");
        pageserver.restart(remote);
        for (LocalBranch b : parentsFirst(branches.all())) {
            attachIfLost(b, remote);
        }
        for (LocalBranch b : branches.all().values()) {
            pageserver.setWalSources(b.timeline(), walSources);
        }
    }

    /**
     * Tests: stops the object store (S3Proxy), as an S3 outage looks to its clients (open
     * connections cut, new ones refused); returns its port, which {@link #startObjectStore}
     * binds again. Everything else keeps running.
     */
    synchronized int stopObjectStore() {
        int port = objectStore.port();
        objectStore.close();
        return port;
    }

    /** Tests: starts the object store again after {@link #stopObjectStore}, same port, same directory. */
    synchronized void startObjectStore(int port) {
        objectStore = LocalObjectStore.start(layout.objectStoreDir(), port, state.secret("s3.secret"));
    }

    // ---- branches (docs/local-cluster.md, "Branches and restore") ----

    /**
     * A branch as `strata branch list` shows it: where it stands, its sizes (-1: unknown) and
     * whether its compute runs.
     *
     * @param layerBytes  the layer files only this branch holds (its parent's history not counted)
     * @param logicalSize its databases' size at its newest WAL
     */
    public record BranchInfo(LocalBranch branch, Lsn lastRecordLsn, long layerBytes, long logicalSize,
                             String compute) {
    }

    /** What a restore did: the branch on its new timeline, the backup of the old one, the point, the time it took. */
    public record Restored(LocalBranch branch, LocalBranch backup, Lsn lsn, Duration took) {
    }

    /** Every branch, parents before children. */
    public List<BranchInfo> branches() {
        List<BranchInfo> out = new ArrayList<>();
        for (LocalBranch b : parentsFirst(branches.all())) {
            LocalPageserver.TimelineSizes sizes;
            try {
                sizes = pageserver.sizes(b.timeline());
            } catch (RuntimeException e) {
                sizes = new LocalPageserver.TimelineSizes(Lsn.INVALID, -1, -1);
            }
            LocalEndpoint e = endpoints.get(b.name());
            out.add(new BranchInfo(b, sizes.lastRecordLsn(), sizes.layerBytes(), sizes.logicalSize(),
                    e == null ? "none" : e.compute().state().name().toLowerCase()));
        }
        return out;
    }

    /** A branch by name. */
    public LocalBranch branch(String name) {
        return branches.get(name).orElseThrow(() -> noBranch(name));
    }

    private IllegalArgumentException noBranch(String name) {
        return new IllegalArgumentException("no branch '" + name + "' (branches: " + String.join(", ",
                branches.all().keySet()) + ")");
    }

    /**
     * Makes branch {@code name} from {@code parent} at {@code at}: a new timeline on the
     * pageserver that reads the parent's history up to the branch point (nothing is copied, so
     * the time does not depend on the database's size), the same timeline on the safekeepers
     * with its WAL starting there, then the branch record. Its endpoint's compute starts on the
     * first connection. If a step fails, what the earlier ones made is removed again.
     */
    public LocalBranch createBranch(String name, String parent, BranchTarget at) {
        synchronized (branchLock) {
            LocalBranch.checkName(name);
            if (branches.get(name).isPresent()) {
                throw new IllegalArgumentException("branch '" + name + "' exists already");
            }
            if (branches.all().size() >= MAX_BRANCHES) {
                throw new IllegalArgumentException("the project has " + MAX_BRANCHES + " branches, as many as one "
                        + "machine serves (each has its timeline on every service); delete one first");
            }
            long t0 = System.nanoTime();
            LocalBranch from = branch(parent);
            EndpointId endpoint = freeEndpointFor(name);
            Lsn lsn = resolve(from, at);
            long resolved = System.nanoTime();
            TimelineId timeline = TimelineId.random();
            LocalPageserver.BranchedTimeline made = makeTimeline(timeline, from.timeline(), lsn);
            long timelinesMade = System.nanoTime();
            fault("branch: timeline made, branch not recorded");
            LocalBranch b = new LocalBranch(name, timeline, Optional.of(from.name()), Optional.of(made.branchLsn()),
                    endpoint, clock.instant());
            branches.apply(List.of(b), List.of());
            endpoints.put(name, new LocalEndpoint(b, this::computeFor, progress));
            long done = System.nanoTime();
            log.info("branch={} created from {} at {}: timeline {} in {} ms (branch point {}, timelines {}, record {})",
                    name, from.name(), made.branchLsn(), timeline, (done - t0) / 1_000_000,
                    (resolved - t0) / 1_000_000, (timelinesMade - resolved) / 1_000_000, (done - timelinesMade) / 1_000_000);
            return b;
        }
    }

    /**
     * Deletes a branch: refused for {@code main} and for a branch that others were made from.
     * The record goes first, then the compute, the timeline on the safekeepers and the
     * pageserver: a crash between leaves an unused timeline behind, never a branch without one.
     */
    public void deleteBranch(String name) {
        synchronized (branchLock) {
            LocalBranch b = branch(name);
            if (name.equals(BRANCH)) {
                throw new IllegalArgumentException("branch '" + name + "' is the project's main branch and cannot be "
                        + "deleted (restore it to an earlier point instead)");
            }
            List<String> children = branches.children(name);
            if (!children.isEmpty()) {
                throw new IllegalArgumentException("branch '" + name + "' has child branches (" + String.join(", ",
                        children) + "); delete them first");
            }
            branches.apply(List.of(), List.of(name), List.of(b.timeline()));
            fault("delete: branch record removed, timeline not deleted");
            LocalEndpoint e = endpoints.remove(name);
            if (e != null) {
                e.close();
            }
            if (proxy != null) {
                proxy.forget(b.endpoint());
            }
            dropTimeline(b.timeline());
            branches.settled(b.timeline());
            try {
                FileTrees.deleteRecursively(layout.computeDataDir(b.endpoint().toString()));
            } catch (RuntimeException ex) {
                log.warn("branch={} deleted; its compute directory stays: {}", name, ex.getMessage());
            }
            log.info("branch={} deleted (timeline {})", name, b.timeline());
        }
    }

    /**
     * Restores branch {@code name} to {@code to} on {@code source} (the branch itself when
     * null; another branch, e.g. a backup, to undo a restore): a new timeline at that point;
     * the branch's current timeline kept as branch {@code <name>_old_<time>}; the branch
     * repointed; its endpoint's compute restarted on the new timeline, so the next connection
     * sees the restored data. Nothing is lost: every commit of the old timeline stays on the
     * backup branch. Made durable in one write of the branch records, after the new timeline
     * exists and before the compute moves.
     */
    public Restored restore(String name, BranchTarget to, String source) {
        long t0 = System.nanoTime();
        synchronized (branchLock) {
            LocalBranch b = branch(name);
            LocalBranch from = source == null ? b : branch(source);
            if (from.name().equals(b.name()) && to instanceof BranchTarget.Head) {
                throw new IllegalArgumentException("restoring branch '" + name + "' to its own newest state changes "
                        + "nothing: give a point (--to TIME|LSN) or another branch to restore from (--from)");
            }
            if (branches.all().size() >= MAX_BRANCHES) {
                throw new IllegalArgumentException("the project has " + MAX_BRANCHES + " branches and a restore keeps "
                        + "one more (the backup); delete one first");
            }
            Lsn lsn = resolve(from, to);
            TimelineId timeline = TimelineId.random();
            LocalPageserver.BranchedTimeline made = makeTimeline(timeline, from.timeline(), lsn);
            fault("restore: timeline made, branch not repointed");
            Instant now = clock.instant().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
            String backupName = backupName(name, now);
            LocalBranch backup = new LocalBranch(backupName, b.timeline(), b.parent(), b.branchLsn(),
                    freeEndpointFor(backupName), now);
            // The restored timeline is a child of the source's: the branch now descends from it
            // (from the backup branch when it restored its own history).
            String newParent = from.name().equals(b.name()) ? backupName : from.name();
            LocalBranch restored = b.withTimeline(timeline, Optional.of(newParent), Optional.of(made.branchLsn()));
            List<LocalBranch> changed = new ArrayList<>(List.of(backup, restored));
            // Branches made from the old timeline stay its children: their parent is now the backup.
            for (String child : branches.children(name)) {
                changed.add(branch(child).withParent(Optional.of(backupName)));
            }
            branches.apply(changed, List.of());
            fault("restore: branch repointed, compute not moved");
            endpoints.put(backupName, new LocalEndpoint(backup, this::computeFor, progress));
            LocalEndpoint e = endpoint(name);
            progress.accept("branch '" + name + "' restored to " + made.branchLsn() + " (timeline " + timeline
                    + "); its previous state is branch '" + backupName + "'");
            e.repoint(restored);
            if (controlPlane != null && name.equals(BRANCH)) {
                // the metadata's branch follows; a running compute is stopped and woken again on the
                // new timeline through the workflows (suspend: no sessions on a stopped compute, wake)
                if (controlPlane.repointMain(timeline)) {
                    controlPlaneCompute.wakeNow(ClusterControlPlane.MAIN_ENDPOINT);
                }
            }
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            log.info("branch={} restored to {} from {} in {} ms; backup {}", name, made.branchLsn(), from.name(),
                    took.toMillis(), backupName);
            return new Restored(restored, backup, made.branchLsn(), took);
        }
    }

    /**
     * The control plane restored {@code main} (the API's restore workflow moved its branch to
     * {@code timeline}, the old one kept as a backup branch in the metadata): the cluster's own
     * record of main follows, so that {@code --no-control-plane}, {@code verify} and {@code status}
     * see the restored timeline. Main is recorded as a root here: its backup is a branch of the
     * metadata, not of {@code cluster.properties}.
     */
    void followMain(TimelineId timeline) {
        synchronized (branchLock) {
            LocalBranch b = branch(BRANCH);
            if (b.timeline().equals(timeline)) {
                return;
            }
            LocalBranch moved = b.withTimeline(timeline, Optional.empty(), Optional.empty());
            branches.apply(List.of(moved), List.of());
            LocalEndpoint e = endpoints.get(BRANCH);
            if (e != null) {
                e.repoint(moved);
            }
            pageserver.setWalSources(timeline, walSources);
            log.info("branch={} follows the control plane's restore: timeline {} (was {})", BRANCH, timeline,
                    b.timeline());
        }
    }

    /** {@code <name>_old_<UTC time of the restore>}, as Neon names its backups; unique. */
    private String backupName(String name, Instant when) {
        String base = name + "_old_" + when;
        String candidate = base;
        for (int i = 2; branches.get(candidate).isPresent(); i++) {
            candidate = base + "_" + i;
        }
        if (candidate.length() > 63) {
            throw new IllegalArgumentException("branch '" + name + "' has too long a name for its backup '"
                    + candidate + "' (63 characters at most)");
        }
        return LocalBranch.checkName(candidate);
    }

    private EndpointId freeEndpointFor(String name) {
        EndpointId id = LocalBranch.endpointFor(name);
        for (int i = 2; endpointById(id).isPresent(); i++) {
            id = EndpointId.of(LocalBranch.endpointFor(name) + "-" + i);
        }
        return id;
    }

    /**
     * Where {@code point} lies on the branch's timeline, by the control plane's rule
     * ({@link BranchPoints}), read from this cluster's services directly (an in-process pageserver
     * and safekeepers answer without HTTP: a branch is made in tens of milliseconds). A time before
     * the first commit, or on a timeline without commits, is refused: no branch point would mean it.
     */
    private Lsn resolve(LocalBranch branch, BranchTarget point) {
        try {
            return BranchPoints.resolve(branchPointSource, clock, branch.timeline(), point);
        } catch (dev.strata.control.BranchPointException e) {
            throw new IllegalArgumentException("branch '" + branch.name() + "': " + e.getMessage(), e);
        }
    }

    private final BranchPoints.Source branchPointSource = new BranchPoints.Source() {
        @Override
        public Optional<Lsn> ingested(TimelineId timeline) {
            return pageserver.hasTimeline(timeline) ? Optional.of(pageserver.lastRecordLsn(timeline)) : Optional.empty();
        }

        @Override
        public Lsn committedHead(TimelineId timeline) {
            return LocalCluster.this.committedHead(timeline);
        }

        @Override
        public void awaitIngest(TimelineId timeline, Lsn lsn, Duration timeout) {
            pageserver.awaitIngest(timeline, lsn, timeout);
        }

        @Override
        public BranchPoints.Found lsnForTimestamp(TimelineId timeline, Instant time) {
            LocalPageserver.LsnAtTime found = pageserver.lsnForTimestamp(timeline, time);
            return new BranchPoints.Found(found.lsn(), found.kind());
        }
    };

    /**
     * The newest WAL a quorum of safekeepers holds of the timeline: every commit acknowledged to
     * a client is below it. The pageserver ingests asynchronously, so its own newest WAL may not
     * have the commit a user just made; a branch "at head" must. Null (the pageserver's newest)
     * if fewer than a quorum answer. The pageserver waits for this LSN and branches at the
     * newest transaction end at or below it (decision 0022).
     */
    Clock clock() {
        return clock;
    }

    Lsn committedHead(TimelineId timeline) {
        List<Lsn> flushed = new ArrayList<>();
        Lsn commit = Lsn.INVALID;
        for (LocalSafekeeper sk : safekeepers) {
            try {
                LocalSafekeeper.Positions p = sk.positions(timeline);
                flushed.add(p.flush());
                commit = Lsn.max(commit, p.commit());
            } catch (RuntimeException e) {
                log.info("timeline={} safekeeper {} did not give its position: {}", timeline, sk.id(), e.getMessage());
            }
        }
        return ServiceStorageControl.quorumHead(flushed, commit, safekeepers.size());
    }

    /** The timeline on the pageserver, then on every safekeeper; undone if a step fails. */
    private LocalPageserver.BranchedTimeline makeTimeline(TimelineId timeline, TimelineId parent, Lsn at) {
        branches.intendCreate(timeline);
        LocalPageserver.BranchedTimeline made;
        try {
            made = pageserver.branchTimeline(timeline, parent, at, walSources);
        } catch (RuntimeException e) {
            branches.settled(timeline);
            throw e;
        }
        fault("timeline on the pageserver, not on the safekeepers");
        // On the three safekeepers at once: each makes and fsyncs its timeline directory, and in
        // turn their times added up to most of a branch's creation.
        RuntimeException failed = null;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> made3 = new ArrayList<>();
            for (LocalSafekeeper sk : safekeepers) {
                made3.add(pool.submit(() -> sk.createTimeline(timeline, made.systemId(), made.walSegmentSize(),
                        made.branchLsn())));
            }
            for (Future<?> f : made3) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    RuntimeException cause = e.getCause() instanceof RuntimeException r ? r
                            : new IllegalStateException(e.getCause());
                    if (failed == null) {
                        failed = cause;
                    } else {
                        failed.addSuppressed(cause);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    failed = failed == null ? new IllegalStateException("interrupted") : failed;
                }
            }
        }
        if (failed != null) {
            dropTimeline(timeline);
            branches.settled(timeline);
            throw new IllegalStateException("could not create timeline " + timeline + " on the safekeepers: "
                    + failed.getMessage(), failed);
        }
        return made;
    }

    /**
     * Finishes what a crash interrupted (the intents in {@link LocalBranches}): a timeline made
     * for a branch that was never recorded is deleted again; a deleted branch's timeline is
     * deleted (again). Runs at every start, after the storage services are up.
     */
    private void recoverPending() {
        java.util.Set<TimelineId> named = new java.util.HashSet<>();
        branches.all().values().forEach(b -> named.add(b.timeline()));
        for (TimelineId t : branches.pendingCreates()) {
            if (!named.contains(t)) {
                progress.accept("removing timeline " + t + ", made for a branch that a crash left unrecorded");
                dropTimeline(t);
            }
            branches.settled(t);
        }
        for (TimelineId t : branches.pendingDeletes()) {
            if (!named.contains(t)) {
                progress.accept("finishing the deletion of timeline " + t + " (its branch was deleted before a crash)");
                dropTimeline(t);
            }
            branches.settled(t);
        }
    }

    /**
     * A point where a test can stop an operation as a crash would ({@link #failAt}): what the
     * real parts cannot do on cue is stop between two of our own steps.
     */
    private void fault(String point) {
        if (point.equals(faultPoint)) {
            faultPoint = null;
            throw new SimulatedCrash(point);
        }
    }

    /** Test hook: the next operation to reach {@code point} stops there with {@link SimulatedCrash}. */
    void failAt(String point) {
        faultPoint = point;
    }

    /** Thrown by {@link #fault}: an operation stopped where a crash could stop it (tests only). */
    static final class SimulatedCrash extends RuntimeException {
        SimulatedCrash(String point) {
            super("simulated crash at: " + point);
        }
    }

    /** Removes a timeline from the safekeepers and the pageserver; failures are logged (an unused timeline stays). */
    private void dropTimeline(TimelineId timeline) {
        for (LocalSafekeeper sk : safekeepers) {
            try {
                sk.deleteTimeline(timeline);
            } catch (RuntimeException e) {
                log.warn("timeline={} stays on safekeeper {}: {}", timeline, sk.id(), e.getMessage());
            }
        }
        try {
            pageserver.deleteTimeline(timeline);
        } catch (RuntimeException e) {
            log.warn("timeline={} stays on the pageserver: {}", timeline, e.getMessage());
        }
    }

    /** The proxy (the address applications use). */
    public ProxyServer proxy() {
        return proxy;
    }

    /** Starts the compute of branch main (if it is not running); returns its address. */
    public StartedCompute startCompute() {
        return mainEndpoint().start();
    }

    /** Stops the compute of branch main (suspend); the next {@link #startCompute} starts a new one. */
    public void stopCompute() {
        mainEndpoint().stop();
    }

    private LocalEndpoint mainEndpoint() {
        return endpoint(BRANCH);
    }

    private LocalEndpoint endpoint(String branch) {
        LocalEndpoint e = endpoints.get(branch);
        if (e == null) {
            throw noBranch(branch);
        }
        return e;
    }

    /** The endpoint clients reach as {@code id}, if a branch has it. */
    Optional<LocalEndpoint> endpointById(EndpointId id) {
        return endpoints.values().stream().filter(e -> e.id().equals(id)).findFirst();
    }

    private void superviseComputes() {
        if (closing) {
            return;
        }
        if (controlPlaneCompute != null) {
            try {
                controlPlaneCompute.replaceDeadComputes();
            } catch (RuntimeException e) { // the metadata unreachable for a moment: the next round asks again
                log.warn("supervising the control plane's computes failed: {}", e.getMessage());
            }
        }
        for (LocalEndpoint e : endpoints.values()) {
            if (closing) {
                return;
            }
            e.supervise();
        }
    }

    /**
     * A compute agent for the branch's endpoint: its own port (kept across restarts), data
     * directory and token (scope compute, the branch's timeline only).
     */
    private ComputeNode computeFor(LocalBranch b) {
        String endpoint = b.endpoint().toString();
        int port;
        synchronized (state) {
            port = port(endpoint.equals(ENDPOINT) ? "port.compute" : "port.compute." + endpoint);
            state.save();
        }
        ComputeSpec spec = ComputeSpec.local(b.timeline(), members, layout.computeDataDir(endpoint), DB_USER,
                dbPassword, auth.computeToken(b.timeline(), "compute-" + endpoint))
                .withPort(port).withSettings(options.computeSettings());
        return new ComputeNode(spec, pageserver.access(spec.authToken()), PostgresBinaries.resolve(), progress);
    }

    /**
     * What {@code strata verify} needs of a branch: its timeline's committed head and the LSNs its
     * computes started at (from a safekeeper that answers), the safekeepers, the page service and
     * a compute token for the timeline; and the branch's compute if the cluster runs it itself and
     * it is running. Starts no compute: a verify must not elect one beside the endpoint's own. A
     * branch is looked up in the control plane's metadata when the cluster's own branches do not
     * have it.
     */
    public dev.strata.cli.verify.VerifyTarget verifyTarget(String branch) {
        LocalEndpoint e = endpoints.get(branch);
        // With the control plane its metadata is where branches are (and where an API restore
        // moved main); branches of the admin port (--no-control-plane) are the cluster's own.
        Optional<TimelineId> inMetadata = controlPlane == null ? Optional.empty()
                : controlPlane.store().getBranchByName(ClusterControlPlane.PROJECT, branch).map(Branch::timeline);
        TimelineId timeline;
        if (inMetadata.isPresent()) {
            timeline = inMetadata.get();
        } else if (e != null) {
            timeline = e.branch().timeline();
        } else {
            throw noBranch(branch);
        }
        Lsn committed = committedHead(timeline);
        if (committed == null) {
            throw new IllegalStateException("timeline " + timeline + ": fewer than a quorum of safekeepers answered; "
                    + "see `strata status`");
        }
        List<Lsn> termStarts = null;
        for (LocalSafekeeper sk : safekeepers) {
            try {
                termStarts = sk.termStarts(timeline);
                break;
            } catch (RuntimeException ex) {
                log.info("timeline={} safekeeper {} did not give its term history: {}", timeline, sk.id(), ex.getMessage());
            }
        }
        if (termStarts == null) {
            throw new IllegalStateException("timeline " + timeline + ": no safekeeper gave its term history");
        }
        ComputeNode compute = e == null || controlPlane != null ? null : e.compute();
        StartedCompute started = compute == null ? null : compute.started();
        java.net.URI uri = started == null ? null : java.net.URI.create(compute.connectionUri("postgres"));
        return new dev.strata.cli.verify.VerifyTarget(branch, timeline, started == null ? null : compute.spec().dataDir(),
                uri == null ? null : uri.getHost(), uri == null ? 0 : uri.getPort(), DB_USER, dbPassword, walSources,
                "127.0.0.1", pageserver.pageServicePort(), auth.computeToken(timeline, "verify"),
                committed, termStarts);
    }

    /** Branch main's timeline. */
    public TimelineId timeline() {
        return mainEndpoint().branch().timeline();
    }

    /** Branch main's compute agent. */
    public ComputeNode compute() {
        return mainEndpoint().compute();
    }

    /** A branch's compute agent. */
    public ComputeNode compute(String branch) {
        return endpoint(branch).compute();
    }

    public List<LocalSafekeeper> safekeepers() {
        return List.copyOf(safekeepers);
    }

    public LocalPageserver pageserver() {
        return pageserver;
    }

    /**
     * A psql connection string for the branch's endpoint, through the proxy: applications never
     * need a compute's own address (it wakes on connect).
     */
    public String connectionString() {
        return connectionString(BRANCH);
    }

    /** The connection string of a branch's endpoint, through the proxy (its compute wakes on connect). */
    public String connectionString(String branch) {
        return "postgresql://" + DB_USER + ":" + URLEncoder.encode(state.require("db.password"), StandardCharsets.UTF_8)
                + "@127.0.0.1:" + proxy.port() + "/postgres?options=endpoint%3D" + endpoint(branch).id();
    }

    private static String answer(Future<String> status) {
        try {
            return status.get();
        } catch (ExecutionException e) {
            return "status failed: " + e.getCause();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "status interrupted";
        }
    }

    /** The cluster's credentials (for the admin port, and tokens for the operator). */
    /** The database superuser's password (for a compute agent a test runs beside the cluster). */
    String dbPassword() {
        return dbPassword;
    }

    /** Where the pageserver reads a timeline's WAL: every safekeeper's walsender. */
    List<LocalPageserver.WalSource> walSources() {
        return walSources;
    }

    /** The safekeepers as a proposer addresses them. */
    List<Proposer.Member> members() {
        return members;
    }

    /**
     * The control plane's storage seam over this cluster's safekeepers and pageserver: what the
     * workflows' storage steps call when they run against this cluster.
     */
    public synchronized StorageControl storageControl() {
        // The services' addresses are fixed for the cluster's life (a restarted child keeps its ports).
        if (storageControl == null) {
            List<Dto.Source> sources = walSources.stream()
                    .map(w -> new Dto.Source(w.host(), w.port(), w.user(), w.password())).toList();
            storageControl = new ServiceStorageControl(new ServiceStorageControl.Nodes(pageserver.apiUrl(), members,
                    sources), scope -> auth.token(scope, "control-plane"), dbPassword, clock());
        }
        return storageControl;
    }

    public ClusterAuth auth() {
        return auth;
    }

    /** Each component and its LSNs, for `strata status`. */
    public String statusReport() {
        StringBuilder out = new StringBuilder();
        TimelineId timeline = timeline();
        out.append("project ").append(PROJECT).append(", branch ").append(BRANCH).append(": timeline ")
                .append(timeline).append('\n');
        out.append("data directory ").append(layout.root()).append('\n');
        out.append(String.format("metadata: dynalite pid %d on %s, table %s%n", dynamo.pid(), dynamo.endpoint(),
                MetadataTable.DEFAULT_NAME));
        // Asked in parallel: a paused or overloaded safekeeper then costs its client's timeout
        // (10 s) once, not once per safekeeper; asked in turn, two paused safekeepers made the
        // report outlast the CLI's 20 s and `strata status` said "not running".
        List<String> skStatus = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<String>> asked = new ArrayList<>();
            for (LocalSafekeeper sk : safekeepers) {
                asked.add(pool.submit(() -> sk.status(timeline)));
            }
            for (Future<String> f : asked) {
                skStatus.add(answer(f));
            }
        }
        for (int i = 0; i < safekeepers.size(); i++) {
            LocalSafekeeper sk = safekeepers.get(i);
            // A child process shows its pid, for whoever wants to pause or kill that one safekeeper.
            String pid = sk.pid().isPresent() ? " pid " + sk.pid().getAsLong() : "";
            out.append(String.format("safekeeper %-5s http %s walsender %d%s: %s%n", sk.id(), sk.url().getPort(),
                    sk.walsenderPort(), pid, skStatus.get(i)));
        }
        for (String line : pageserver.status(timeline)) {
            out.append("pageserver: ").append(line).append('\n');
        }
        for (EndpointStatus e : proxy.status()) {
            out.append(String.format("endpoint %s (proxy 127.0.0.1:%d): %s, %d open connection(s), last activity %s%n",
                    e.endpoint(), proxy.port(), e.state().name().toLowerCase(), e.openConnections(),
                    e.lastActivity() == null ? "never" : e.lastActivity()));
        }
        if (controlPlane != null) {
            appendControlPlane(out);
        } else {
            appendCompute(out, mainEndpoint());
        }
        // Other branches: one line each, and their compute while it runs.
        for (LocalEndpoint e : new java.util.TreeMap<>(endpoints).values()) {
            if (e.branch().name().equals(BRANCH)) {
                continue;
            }
            LocalBranch b = e.branch();
            out.append("branch ").append(b.name()).append(": timeline ").append(b.timeline())
                    .append(b.parent().map(p -> ", from " + p + " at " + b.branchLsn().orElseThrow()).orElse(""))
                    .append(", endpoint ").append(b.endpoint()).append('\n');
            if (e.compute().state() != ComputeState.STOPPED) {
                appendCompute(out, e);
            }
        }
        return out.toString();
    }

    private void appendControlPlane(StringBuilder out) {
        out.append("control plane: API ").append(controlPlane.apiUrl()).append(", ")
                .append(controlPlane.runningExecutions()).append(" workflow execution(s) running\n");
        try {
            dev.strata.control.model.Endpoint e = controlPlane.store().getEndpoint(ClusterControlPlane.MAIN_ENDPOINT)
                    .orElseThrow();
            out.append("compute (endpoint ").append(e.id()).append("): ").append(e.state().name().toLowerCase())
                    .append(e.agent().map(a -> " on agent " + a).orElse(""))
                    .append(e.address().map(a -> " at " + a).orElse(""))
                    .append(e.operation().map(o -> ", last operation " + o).orElse("")).append('\n');
            // the agent's compute, as for a compute the cluster runs itself: backpressure and wedges
            e.agent().map(controlPlane::agent)
                    .flatMap(a -> a.compute(e.id()))
                    .filter(n -> n.state() != ComputeState.STOPPED)
                    .ifPresent(n -> appendCommitPath(out, n));
        } catch (RuntimeException ex) {
            out.append("compute (endpoint ").append(ClusterControlPlane.MAIN_ENDPOINT).append("): metadata unavailable (")
                    .append(ex.getMessage()).append(")\n");
        }
    }

    private static void appendCompute(StringBuilder out, LocalEndpoint e) {
        ComputeNode compute = e.compute();
        StartedCompute s = compute.started();
        out.append("compute (endpoint ").append(e.id()).append("): ").append(compute.state().name().toLowerCase());
        if (s != null) {
            out.append(String.format(", term %s, port %d, WAL from %s", s.term(), s.port(), s.epochStart()));
            try {
                var a = compute.activity();
                out.append(String.format(", %d client connection(s), last activity %s", a.openConnections(),
                        a.lastActivity()));
            } catch (Exception ex) {
                out.append(", activity unknown (").append(ex.getMessage()).append(')');
            }
        } else if (compute.failure() != null) {
            out.append(": ").append(compute.failure().lines().findFirst().orElse(""));
        }
        out.append('\n');
        appendCommitPath(out, compute);
    }

    private static void appendCommitPath(StringBuilder out, ComputeNode compute) {
        out.append("commit path: ").append(compute.commitPath().line());
        if (compute.wedgeCount() > 0) {
            out.append(", compute replaced ").append(compute.wedgeCount()).append(" time(s) for a wedged commit path");
        }
        out.append('\n');
        for (var p : compute.commitPath().safekeepers()) {
            out.append("  ").append(p).append('\n');
        }
    }

    /** A port from the state file, or a free one chosen now and remembered. */
    private int port(String key) {
        String stored = state.get(key).orElse(null);
        if (stored != null && isFree(Integer.parseInt(stored))) {
            return Integer.parseInt(stored);
        }
        int p = freePort();
        state.put(key, Integer.toString(p));
        return p;
    }

    /**
     * Free for TCP and for UDP: a safekeeper's management port number carries its position
     * datagrams over UDP as well (decision 0006), so both must be free; the other components'
     * ports are held to the same rule, which costs nothing.
     */
    private static boolean isFree(int port) {
        try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress());
             DatagramSocket d = new DatagramSocket(port, InetAddress.getLoopbackAddress())) {
            s.setReuseAddress(true);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static int freePort() {
        return LoopbackPorts.pickTcpAndUdp(); // outside the ephemeral range: children bind it seconds later
    }

    /** Stops the compute (fast shutdown), then the pageserver and the safekeepers. */
    @Override
    public void close() {
        closing = true;
        supervisor.shutdownNow();
        if (proxy != null) {
            progress.accept("stopping the proxy");
            proxy.close();
        }
        if (controlPlaneCompute != null && controlPlane != null) {
            // No endpoint is left RUNNING in the metadata on a compute that stops with this JVM:
            // each is suspended through the suspend workflow, bounded; what is left, the next
            // start suspends (ClusterControlPlane.suspendOrphans).
            progress.accept("suspending the running endpoints through the suspend workflow");
            try {
                List<EndpointId> left = controlPlaneCompute.suspendAll(SUSPEND_AT_STOP);
                if (!left.isEmpty()) {
                    log.warn("endpoints {} were not suspended within {} s at stop; the next start suspends them",
                            left, SUSPEND_AT_STOP.toSeconds());
                    progress.accept("endpoint(s) " + left + " not suspended within " + SUSPEND_AT_STOP.toSeconds()
                            + " s; the next `up` suspends them");
                }
            } catch (RuntimeException e) {
                log.warn("suspending the endpoints at stop failed: {}; the next start suspends them", e.toString());
            }
        }
        if (controlPlaneCompute != null) {
            controlPlaneCompute.close();
        }
        if (control != null) {
            control.close();
        }
        if (controlPlane != null) {
            progress.accept("stopping the control plane");
            try {
                controlPlane.close();
            } catch (RuntimeException e) {
                log.warn("closing the control plane failed: {}", e.getMessage());
            }
            try {
                Files.deleteIfExists(controlApiUrlFile());
            } catch (IOException e) {
                log.warn("cannot remove {}: {}", controlApiUrlFile(), e.getMessage());
            }
        }
        if (!endpoints.isEmpty()) {
            progress.accept("stopping the compute(s)");
        }
        for (LocalEndpoint e : endpoints.values()) {
            try {
                e.close();
            } catch (RuntimeException ex) {
                log.warn("stopping the compute of branch {} failed: {}", e.branch().name(), ex.getMessage());
            }
        }
        if (pageserver != null) {
            progress.accept("stopping the pageserver");
            pageserver.close();
        }
        if (!safekeepers.isEmpty()) {
            progress.accept("stopping the safekeepers");
        }
        for (LocalSafekeeper sk : safekeepers) {
            try {
                sk.close();
            } catch (RuntimeException e) {
                log.warn("closing safekeeper {} failed: {}", sk.id(), e.getMessage());
            }
        }
        if (dynamo != null) {
            try {
                dynamo.close();
            } catch (RuntimeException e) {
                log.warn("closing the metadata store failed: {}", e.getMessage());
            }
        }
        if (objectStore != null) { // after the pageserver: its last uploads go here
            try {
                objectStore.close();
            } catch (RuntimeException e) {
                log.warn("closing the object store failed: {}", e.getMessage());
            }
        }
    }
}
