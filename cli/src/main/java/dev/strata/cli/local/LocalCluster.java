package dev.strata.cli.local;

import dev.strata.compute.node.ComputeNode;
import dev.strata.compute.node.ComputeSpec;
import dev.strata.compute.node.ComputeState;
import dev.strata.compute.node.StartedCompute;
import dev.strata.control.local.LocalDynamo;
import dev.strata.control.metadata.MetadataTable;
import dev.strata.remote.Generation;
import dev.strata.remote.RemoteStorageConfig;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
     */
    public record Options(int proxyPort, boolean childProcesses, Duration idleTimeout,
                          Map<String, String> computeSettings, boolean safekeepersInProcess) {
        public static final Options DEFAULTS = new Options(ProxyConfig.DEFAULT_PORT, false, Duration.ofSeconds(300));

        public Options(int proxyPort, boolean childProcesses, Duration idleTimeout) {
            this(proxyPort, childProcesses, idleTimeout, Map.of());
        }

        public Options(int proxyPort, boolean childProcesses, Duration idleTimeout, Map<String, String> computeSettings) {
            this(proxyPort, childProcesses, idleTimeout, computeSettings, false);
        }

        /** These options with the safekeepers in this JVM (and the pageserver a child if {@code childProcesses}). */
        public Options withSafekeepersInProcess() {
            return new Options(proxyPort, childProcesses, idleTimeout, computeSettings, true);
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
            return new Options(proxyPort, childProcesses, idleTimeout, settings, safekeepersInProcess);
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
    private ComputeNode compute;
    private ProxyServer proxy;
    private LocalComputeControl control;
    /** Signs the tokens every component presents to the others' listeners. */
    private final ClusterAuth auth;
    private TimelineId timeline;
    /** The safekeepers' walsenders, as the pageserver is told at every start. */
    private List<LocalPageserver.WalSource> walSources = List.of();
    private volatile boolean computeWanted;
    private volatile boolean closing;
    private int restarts;

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
        String dbPassword = state.secret("db.password");
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

        if (firstRun) {
            timeline = TimelineId.random();
            progress.accept("creating project '" + PROJECT + "', branch '" + BRANCH + "' (initdb, import into the "
                    + "pageserver)");
            LocalPageserver.CreatedTimeline created = pageserver.createTimeline(timeline, DB_USER, dbPassword);
            for (LocalSafekeeper sk : safekeepers) {
                sk.createTimeline(timeline, created.systemId(), created.walSegmentSize(), created.startLsn());
            }
            state.put("project", PROJECT);
            state.put("branch." + BRANCH, timeline.toString());
            state.put("timeline", timeline.toString());
            state.save();
        } else {
            timeline = TimelineId.parse(state.require("timeline"));
            attachIfLost(remote);
        }
        pageserver.setWalSources(timeline, sources);

        List<Proposer.Member> members = new ArrayList<>();
        for (LocalSafekeeper sk : safekeepers) {
            members.add(new Proposer.Member(sk.id(), sk.url()));
        }
        // The compute agent elects, announces and reads its basebackup with one token, for its own timeline only.
        ComputeSpec spec = ComputeSpec.local(timeline, members, layout.computeDataDir(ENDPOINT), DB_USER, dbPassword,
                auth.computeToken(timeline, "compute-" + ENDPOINT))
                .withPort(port("port.compute")).withSettings(options.computeSettings());
        state.save();
        compute = new ComputeNode(spec, pageserver.access(spec.authToken()),
                PostgresBinaries.resolve(), progress);
        startCompute();
        supervisor.scheduleWithFixedDelay(this::superviseCompute, 1, 1, TimeUnit.SECONDS);

        progress.accept("starting the proxy on 127.0.0.1:" + options.proxyPort() + " (wake on connect, suspend after "
                + options.idleTimeout().toSeconds() + " s idle)");
        control = new LocalComputeControl(this, EndpointId.of(ENDPOINT), options.idleTimeout());
        proxy = ProxyServer.start(ProxyConfig.defaults().withPort(options.proxyPort())
                .withTlsDirectory(layout.proxyDir()), control);
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
     * If the pageserver's directory lost the timeline (a deleted or replaced disk), attaches it
     * from the object store: the index only, layers on demand, WAL from the safekeepers after
     * the remote-consistent LSN (docs/pageserver.md, "Attach").
     */
    private void attachIfLost(RemoteStorageConfig remote) {
        if (pageserver.hasTimeline(timeline)) {
            return;
        }
        progress.accept("the pageserver in " + layout.pageserverDir() + " has no timeline " + timeline
                + ": attaching it from the object store (generation " + remote.generation() + ")");
        try {
            pageserver.attachTimeline(timeline, walSources);
        } catch (RuntimeException e) {
            throw new IllegalStateException("the pageserver in " + layout.pageserverDir() + " has no timeline "
                    + timeline + " of branch " + BRANCH + " and the object store in " + layout.objectStoreDir()
                    + " could not give it back (" + e.getMessage() + "); the data directory " + layout.root()
                    + " is incomplete (remove it to start over)", e);
        }
        log.info("timeline={} attached from the object store under generation {}", timeline, remote.generation());
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
        attachIfLost(remote);
        pageserver.setWalSources(timeline, walSources);
    }

    /** The proxy (the address applications use). */
    public ProxyServer proxy() {
        return proxy;
    }

    /** Starts the compute (if it is not running); returns its address. */
    public synchronized StartedCompute startCompute() {
        computeWanted = true;
        StartedCompute s = compute.started();
        if (s != null) {
            return s;
        }
        s = compute.start();
        progress.accept(String.format("compute running: term %s, WAL from %s, started in %d ms (election %d, "
                        + "pageserver %d, basebackup %d, postgres %d)", s.term(), s.epochStart(), s.total().toMillis(),
                s.election().toMillis(), s.pageserverWait().toMillis(), s.basebackup().toMillis(),
                s.postgresStart().toMillis()));
        return s;
    }

    /** Stops the compute (suspend); the next {@link #startCompute} starts a new one. */
    public synchronized void stopCompute() {
        computeWanted = false;
        compute.stop();
    }

    private void superviseCompute() {
        if (closing || !computeWanted) {
            return;
        }
        synchronized (this) {
            if (closing || !computeWanted || compute.state() != ComputeState.FAILED) {
                return;
            }
            restarts++;
            log.warn("timeline={} the compute is down ({}); starting a new one from the pageserver (restart {})",
                    timeline, compute.failure(), restarts);
            try {
                startCompute();
            } catch (RuntimeException e) {
                log.error("timeline={} could not start a new compute; will retry: {}", timeline, e.getMessage());
            }
        }
    }

    public TimelineId timeline() {
        return timeline;
    }

    public ComputeNode compute() {
        return compute;
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
        return "postgresql://" + DB_USER + ":" + URLEncoder.encode(state.require("db.password"), StandardCharsets.UTF_8)
                + "@127.0.0.1:" + proxy.port() + "/postgres?options=endpoint%3D" + ENDPOINT;
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
    public ClusterAuth auth() {
        return auth;
    }

    /** Each component and its LSNs, for `strata status`. */
    public String statusReport() {
        StringBuilder out = new StringBuilder();
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
        StartedCompute s = compute.started();
        for (EndpointStatus e : proxy.status()) {
            out.append(String.format("endpoint %s (proxy 127.0.0.1:%d): %s, %d open connection(s), last activity %s%n",
                    e.endpoint(), proxy.port(), e.state().name().toLowerCase(), e.openConnections(),
                    e.lastActivity() == null ? "never" : e.lastActivity()));
        }
        out.append("compute (endpoint ").append(ENDPOINT).append("): ").append(compute.state().name().toLowerCase());
        if (s != null) {
            out.append(String.format(", term %s, port %d, WAL from %s", s.term(), s.port(), s.epochStart()));
            try {
                var a = compute.activity();
                out.append(String.format(", %d client connection(s), last activity %s", a.openConnections(),
                        a.lastActivity()));
            } catch (Exception e) {
                out.append(", activity unknown (").append(e.getMessage()).append(')');
            }
        } else if (compute.failure() != null) {
            out.append(": ").append(compute.failure().lines().findFirst().orElse(""));
        }
        out.append('\n');
        out.append("commit path: ").append(compute.commitPath().line());
        if (compute.wedgeCount() > 0) {
            out.append(", compute replaced ").append(compute.wedgeCount()).append(" time(s) for a wedged commit path");
        }
        out.append('\n');
        for (var p : compute.commitPath().safekeepers()) {
            out.append("  ").append(p).append('\n');
        }
        return out.toString();
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
        if (control != null) {
            control.close();
        }
        synchronized (this) {
            if (compute != null) {
                progress.accept("stopping the compute");
                compute.stop();
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
