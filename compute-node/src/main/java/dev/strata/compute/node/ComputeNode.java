package dev.strata.compute.node;

import dev.strata.compute.activity.Activity;
import dev.strata.compute.activity.ActivityProbe;
import dev.strata.compute.basebackup.TarUnpacker;
import dev.strata.compute.commitpath.BackendSignals;
import dev.strata.compute.commitpath.CommitPathMonitor;
import dev.strata.compute.commitpath.CommitPathSettings;
import dev.strata.compute.commitpath.CommitPathStatus;
import dev.strata.compute.config.ComputeSettings;
import dev.strata.compute.pageserver.PageserverAccess;
import dev.strata.pageserver.basebackup.BasebackupBase;
import dev.strata.pgcore.fs.FileTrees;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresBinaries;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.postgres.StalePostmaster;
import dev.strata.pgcore.term.Term;
import dev.strata.safekeeper.client.SafekeeperClient;
import dev.strata.safekeeper.election.Proposer;
import dev.strata.safekeeper.receive.ComputeAddress;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The compute agent (architecture §2, §5): turns a timeline into a running stock PostgreSQL 17.
 *
 * <p>Start: elect a new term on the safekeepers (the epoch start E is the end of the
 * timeline's durable WAL), wait until the pageserver has ingested up to E, unpack its
 * basebackup at E into a fresh data directory, write the compute's configuration (quorum
 * commit over the safekeepers, page images in WAL, no local fsync), start Postgres, and tell
 * the safekeepers to stream from it. Nothing is acknowledged to a client before a majority
 * of safekeepers has it, so the data directory can be thrown away at any moment.
 *
 * <p>Before the compute is reported ready, the agent creates one physical replication slot per
 * safekeeper (decision 0007), so PostgreSQL removes no WAL a safekeeper still needs, and starts
 * the commit-path monitor: it throttles writers while the quorum lags (decision 0008) and, when
 * commits wait on safekeepers that do not move, marks the compute FAILED with the reason and
 * kills it, so that its supervisor replaces it (docs/commit-path.md).
 *
 * <p>Stop is a fast shutdown. The next start is a new term on a new basebackup.
 */
public final class ComputeNode implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ComputeNode.class);
    /** Largest basebackup accepted (a bound on what a broken or hostile pageserver can write). */
    private static final long MAX_BASEBACKUP_BYTES = 1L << 40;
    /** Bound on a stop's wait until a majority of safekeepers streams from the compute. */
    private static final Duration STREAMING_TIMEOUT = Duration.ofSeconds(10);
    /** A progress line per this many basebackup bytes (a 1 GB database is a few seconds of lines). */
    private static final long PROGRESS_STEP_BYTES = 256L << 20;
    /** How often a running compute tells the safekeepers where it is (restarted ones need it). */
    static final Duration ANNOUNCE_INTERVAL = Duration.ofSeconds(2);

    private final ComputeSpec spec;
    private final PageserverAccess pageserver;
    private final PostgresBinaries binaries;
    private final Consumer<String> progress;
    private volatile ComputeState state = ComputeState.STOPPED;
    private volatile String failure;
    private PostgresServer postgres;
    private ActivityProbe probe;
    private StartedCompute started;
    private Proposer proposer;
    private Proposer.Result elected;
    private ComputeAddress address;
    private final ScheduledExecutorService announcer = Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().name("compute-announcer").daemon(true).unstarted(r));
    private ScheduledFuture<?> announcing;
    /** Volatile: status readers must not wait for the lock a start holds through its election. */
    private volatile CommitPathMonitor monitor;
    private volatile CommitPathStatus lastCommitPath;
    private final java.util.concurrent.atomic.AtomicLong wedges = new java.util.concurrent.atomic.AtomicLong();

    /**
     * @param progress receives one line per step of a start ("electing a term", ...), for
     *                 people watching; may be {@code s -> {}}
     */
    public ComputeNode(ComputeSpec spec, PageserverAccess pageserver, PostgresBinaries binaries,
                       Consumer<String> progress) {
        this.spec = spec;
        this.pageserver = pageserver;
        this.binaries = binaries;
        this.progress = progress;
    }

    public ComputeSpec spec() {
        return spec;
    }

    public ComputeState state() {
        if (state == ComputeState.RUNNING && postgres != null && !postgres.isRunning()) {
            failure = "PostgreSQL exited on its own; log " + postgres.logFile() + ":\n" + postgres.logTail(20);
            state = ComputeState.FAILED;
        }
        return state;
    }

    /** Why the last start failed or the compute died, or null. */
    public String failure() {
        return failure;
    }

    /** The running compute, or null. */
    public synchronized StartedCompute started() {
        return state() == ComputeState.RUNNING ? started : null;
    }

    /** Runs the whole start sequence; on failure nothing is left running and the state is FAILED. */
    public synchronized StartedCompute start() {
        return start(null, null);
    }

    /**
     * Starts under a term the control plane already elected (its Elect step): the same sequence
     * as {@link #start()}, with {@link Proposer#adopt} in place of an election, so Postgres starts
     * at exactly {@code epochStart}. A term that a newer election superseded is refused with
     * {@link dev.strata.safekeeper.election.TermRefusedException} and nothing is started.
     */
    public synchronized StartedCompute start(Term term, Lsn epochStart) {
        if ((term == null) != (epochStart == null)) {
            throw new IllegalArgumentException("a pre-elected start needs both the term and the epoch start");
        }
        if (!state().canStart()) {
            throw new IllegalStateException("compute for timeline " + spec.timeline() + " is " + state);
        }
        state = ComputeState.STARTING;
        failure = null;
        stopPostgresQuietly();
        try {
            started = startSequence(term, epochStart);
            state = ComputeState.RUNNING;
            announcing = announcer.scheduleWithFixedDelay(this::reannounce, ANNOUNCE_INTERVAL.toMillis(),
                    ANNOUNCE_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
            return started;
        } catch (RuntimeException e) {
            failure = e.getMessage();
            state = ComputeState.FAILED;
            stopPostgresQuietly();
            throw e;
        }
    }

    private StartedCompute startSequence(Term term, Lsn epochStart) {
        long t0 = System.nanoTime();
        stopStalePostmaster();
        // Whatever happens to this start, the directory is not reusable any more once Postgres
        // may have written to it: the mark goes first.
        BasebackupBase marked = ReuseMark.take(reuseMarkFile());
        Lsn reusableAt = marked != null && marked.timeline().equals(spec.timeline()) ? marked.lsn() : null;
        Proposer proposer = new Proposer(spec.timeline(), spec.safekeepers(), spec.electionTimeout(), spec.authToken());
        Proposer.Result elected;
        if (term == null) {
            progress.accept("electing a term on " + spec.safekeepers().size() + " safekeepers");
            elected = proposer.elect();
        } else {
            progress.accept("taking over term " + term + " (WAL from " + epochStart + ") on "
                    + spec.safekeepers().size() + " safekeepers");
            elected = proposer.adopt(term, epochStart);
        }
        long t1 = System.nanoTime();
        Path dataDir = spec.dataDir();
        long t2;
        long t3;
        TarUnpacker.Unpacked unpacked;
        StartedCompute.BasebackupKind kind;
        boolean directoryThere = Files.exists(dataDir.resolve("global").resolve("pg_control"));
        if (elected.epochStart().equals(reusableAt) && directoryThere) {
            // The timeline has not moved since this directory's clean shutdown: its shutdown
            // checkpoint is the timeline's last record, so it is exactly the state at E.
            progress.accept("term " + elected.term() + " elected; the timeline has not moved since the last clean "
                    + "shutdown at " + elected.epochStart() + ": reusing the data directory");
            t2 = System.nanoTime();
            t3 = t2;
            unpacked = new TarUnpacker.Unpacked(0, 0);
            kind = StartedCompute.BasebackupKind.REUSED;
        } else {
            progress.accept("term " + elected.term() + " elected; WAL starts at " + elected.epochStart()
                    + "; waiting for the pageserver to reach it");
            pageserver.awaitLsn(spec.timeline(), elected.epochStart(), spec.pageserverTimeout());
            t2 = System.nanoTime();
            unpacked = marked != null && directoryThere ? fetchOver(dataDir, elected, marked) : null;
            if (unpacked == null) {
                progress.accept("fetching the basebackup at " + elected.epochStart());
                unpacked = fetchBasebackup(dataDir, elected);
            }
            t3 = System.nanoTime();
            kind = unpacked.incremental() ? StartedCompute.BasebackupKind.INCREMENTAL : StartedCompute.BasebackupKind.FULL;
            progress.accept(unpacked.incremental()
                    ? String.format("incremental basebackup applied: %d files taken over from the directory at %s, "
                            + "%d of their pages rewritten, %.1f MB received; starting PostgreSQL",
                            unpacked.reusedFiles(), marked, unpacked.patchedPages(), unpacked.bytes() / 1e6)
                    : String.format("basebackup unpacked: %d files, %.1f MB; starting PostgreSQL",
                            unpacked.files(), unpacked.bytes() / 1e6));
        }
        return launch(proposer, elected, unpacked, kind, t0, t1, t2, t3);
    }

    /**
     * A postmaster that outlived an earlier agent (kill -9 of the cluster's JVM leaves its
     * PostgreSQL running) must not serve from, or write into, the directory this start
     * replaces; it cannot commit (its term is over) but it holds memory and direct clients.
     */
    private void stopStalePostmaster() {
        try {
            StalePostmaster.stop(spec.dataDir(), Duration.ofSeconds(5)).ifPresent(pid ->
                    progress.accept("stopped PostgreSQL pid " + pid + " left running in " + spec.dataDir()
                            + " by an earlier agent"));
        } catch (IOException e) {
            throw new ComputeStartException("timeline " + spec.timeline() + ": a PostgreSQL left running in "
                    + spec.dataDir() + " could not be stopped: " + e.getMessage(), e);
        }
    }

    private TarUnpacker.Unpacked fetchBasebackup(Path dataDir, Proposer.Result elected) {
        TarUnpacker.Unpacked unpacked;
        try {
            FileTrees.deleteRecursively(incomingDir());
            if (Files.exists(dataDir)) {
                FileTrees.deleteRecursively(dataDir);
            }
            try (InputStream tar = pageserver.basebackup(spec.timeline(), elected.epochStart())) {
                unpacked = new TarUnpacker(MAX_BASEBACKUP_BYTES).unpack(tar, dataDir, unpackProgress());
            }
            writePostgresqlConf(dataDir);
        } catch (IOException e) {
            throw new ComputeStartException("timeline " + spec.timeline() + ": basebackup at " + elected.epochStart()
                    + " could not be unpacked into " + dataDir + ": " + e.getMessage(), e);
        }
        return unpacked;
    }

    /**
     * The basebackup at E over the directory this compute shut down cleanly at {@code base}
     * (another timeline, e.g. the one a restore replaced, or this one at an earlier LSN): the
     * pageserver answers with an incremental basebackup when it can tell what differs, so a
     * restore costs what changed, not the database's size. Unpacked beside the directory and
     * swapped in; the base directory is consumed either way. Returns null, having logged why,
     * when the attempt failed: the caller then fetches a full basebackup.
     */
    private TarUnpacker.Unpacked fetchOver(Path dataDir, Proposer.Result elected, BasebackupBase base) {
        progress.accept("fetching the basebackup at " + elected.epochStart() + ", incremental over the directory at "
                + base + " if the pageserver can");
        Path incoming = incomingDir();
        try {
            FileTrees.deleteRecursively(incoming);
            TarUnpacker.Unpacked unpacked;
            try (InputStream tar = pageserver.basebackup(spec.timeline(), elected.epochStart(), base)) {
                unpacked = new TarUnpacker(MAX_BASEBACKUP_BYTES).unpack(tar, incoming, dataDir, base, unpackProgress());
            }
            writePostgresqlConf(incoming);
            FileTrees.deleteRecursively(dataDir);
            Files.move(incoming, dataDir);
            return unpacked;
        } catch (IOException | RuntimeException e) {
            log.warn("timeline={} basebackup at {} over the directory at {} failed, fetching a full one: {}",
                    spec.timeline(), elected.epochStart(), base, e.getMessage());
            progress.accept("the basebackup over the old directory failed (" + e.getMessage() + "); fetching a full one");
            return null;
        }
    }

    private TarUnpacker.Progress unpackProgress() {
        long[] nextReport = {PROGRESS_STEP_BYTES};
        return (files, bytes) -> {
            if (bytes >= nextReport[0]) {
                progress.accept(String.format("basebackup: %d MB received (%d files)", bytes >> 20, files));
                nextReport[0] = bytes + PROGRESS_STEP_BYTES;
            }
        };
    }

    private static void writePostgresqlConf(Path dataDir) throws IOException {
        Files.writeString(dataDir.resolve("postgresql.conf"),
                "# Written by the Strata compute agent.\ninclude_if_exists = 'strata.conf'\n");
    }

    /** Where a basebackup over the old directory is unpacked before it replaces it. */
    private Path incomingDir() {
        return spec.dataDir().resolveSibling(spec.dataDir().getFileName() + ".incoming");
    }

    private StartedCompute launch(Proposer proposer, Proposer.Result elected, TarUnpacker.Unpacked unpacked,
                                  StartedCompute.BasebackupKind kind,
                                  long t0, long t1, long t2, long t3) {
        Path dataDir = spec.dataDir();
        CommitPathSettings commitPath;
        try {
            commitPath = CommitPathSettings.from(spec.settings());
            commitPath.requireSlotKeepAbove(ComputeSettings.forCompute(spec.safekeepers(), spec.settings())
                    .get("max_slot_wal_keep_size"));
        } catch (IllegalArgumentException e) {
            throw new ComputeStartException("timeline " + spec.timeline() + ": " + e.getMessage(), e);
        }
        Map<String, String> settings = new LinkedHashMap<>(ComputeSettings.forCompute(spec.safekeepers(), spec.settings()));
        settings.put("listen_addresses", spec.network().listenAddresses());
        try {
            // At every start, the reused directory's too: the agent's network may have changed.
            Files.writeString(dataDir.resolve("pg_hba.conf"), spec.network().hbaConf());
        } catch (IOException e) {
            throw new ComputeStartException("timeline " + spec.timeline() + ": cannot write pg_hba.conf in " + dataDir
                    + ": " + e.getMessage(), e);
        }
        postgres = PostgresServer.builder()
                .binaries(binaries)
                .dataDir(dataDir)
                .logFile(dataDir.resolveSibling(dataDir.getFileName() + ".log"))
                .user(spec.user())
                .password(spec.password())
                .port(spec.port())
                .settings(settings)
                .build();
        try {
            postgres.start();
        } catch (RuntimeException e) {
            throw new ComputeStartException("timeline " + spec.timeline() + ": PostgreSQL did not start on the "
                    + "basebackup at " + elected.epochStart() + ": " + e.getMessage(), e);
        }
        // The slots exist before any safekeeper streams and before any client writes: no WAL of
        // this term can be removed before the safekeepers have it (decision 0007).
        CommitPathMonitor m = new CommitPathMonitor(spec.timeline().toString(), postgres.jdbcUrl("postgres"), spec.user(),
                spec.password(), spec.safekeepers().stream().map(Proposer.Member::id).toList(), proposer.quorum(),
                commitPath, BackendSignals.kill(), this::wedged);
        try {
            m.start();
        } catch (java.sql.SQLException e) {
            throw new ComputeStartException("timeline " + spec.timeline() + ": cannot create the safekeepers' replication "
                    + "slots on the compute: " + e.getMessage(), e);
        }
        monitor = m;
        long t4 = System.nanoTime();

        String host = spec.network().advertisedHost();
        ComputeAddress address = new ComputeAddress(elected.term(), host, postgres.port(), spec.user(),
                spec.password());
        this.proposer = proposer;
        this.elected = elected;
        this.address = address;
        List<NodeId> streaming = proposer.streamFrom(address);
        if (streaming.size() < proposer.quorum()) {
            throw new ComputeStartException("timeline " + spec.timeline() + ": only " + streaming.size() + " of "
                    + spec.safekeepers().size() + " safekeepers accepted to stream from the compute of term "
                    + elected.term() + " (a majority of " + proposer.quorum() + " is needed for commits)");
        }
        probe = new ActivityProbe(postgres.jdbcUrl("postgres"), spec.user(), spec.password(), Instant.now());
        // Ready once PostgreSQL accepts connections and a majority of safekeepers accepted to
        // stream: reads work at once, and a commit waits (as synchronous replication does) until
        // the safekeepers have connected and flushed it.
        long t5 = System.nanoTime();
        StartedCompute s = new StartedCompute(elected.term(), elected.epochStart(), host, postgres.port(),
                streaming.stream().map(NodeId::toString).toList(), Duration.ofNanos(t1 - t0),
                Duration.ofNanos(t2 - t1), Duration.ofNanos(t3 - t2), unpacked.bytes(), kind, Duration.ofNanos(t4 - t3),
                Duration.ofNanos(t5 - t4));
        log.info("timeline={} term={} epochStart={} port={} compute started in {} ms ({})", spec.timeline(),
                elected.term(), elected.epochStart(), postgres.port(), s.total().toMillis(), s.breakdown());
        return s;
    }

    /**
     * Makes sure every safekeeper streams from this compute: one that was down during the
     * election is brought into the term first (it votes and truncates like any voter), one
     * that restarted is told again where the compute is. Runs every {@link #ANNOUNCE_INTERVAL}
     * while the compute runs; a safekeeper that has promised a higher term is left alone (a
     * newer compute owns the timeline, and this one can no longer commit).
     */
    void reannounce() {
        Proposer p;
        Proposer.Result e;
        ComputeAddress a;
        synchronized (this) {
            if (state != ComputeState.RUNNING) {
                return;
            }
            p = proposer;
            e = elected;
            a = address;
        }
        for (Proposer.Member m : spec.safekeepers()) {
            try {
                SafekeeperClient client = new SafekeeperClient(m.url(), spec.authToken());
                long promised = client.status(spec.timeline()).promisedTerm();
                if (promised > e.term().value()) {
                    continue;
                }
                if (promised < e.term().value() && !p.bringIn(m, e)) {
                    continue;
                }
                client.streamFrom(spec.timeline(), a);
            } catch (RuntimeException ex) {
                log.debug("timeline={} safekeeper {} not reachable for the compute's announcement: {}",
                        spec.timeline(), m.id(), ex.getMessage());
            }
        }
    }

    private void awaitStreaming(int quorum) {
        long deadline = System.nanoTime() + STREAMING_TIMEOUT.toNanos();
        int streaming = 0;
        while (System.nanoTime() < deadline) {
            try {
                streaming = probe.streamingStandbys();
                if (streaming >= quorum) {
                    return;
                }
            } catch (SQLException e) {
                log.debug("timeline={} cannot count streaming safekeepers yet: {}", spec.timeline(), e.getMessage());
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ComputeStartException("interrupted waiting for the safekeepers to stream", e);
            }
        }
        throw new ComputeStartException("timeline " + spec.timeline() + ": only " + streaming + " safekeepers were "
                + "streaming from the compute after " + STREAMING_TIMEOUT.toSeconds() + " s (a majority of " + quorum
                + " holds its shutdown checkpoint)");
    }

    /**
     * The commit path as the agent last saw it: lag, throttling, each safekeeper's position and
     * slot, and a wedge's reason. Kept after the compute stops or fails, so the reason stays visible.
     */
    public CommitPathStatus commitPath() {
        CommitPathMonitor m = monitor;
        if (m != null) {
            return m.status();
        }
        CommitPathStatus last = lastCommitPath;
        return last != null ? last : CommitPathStatus.notStarted(CommitPathSettings.DEFAULTS.maxReplicationFlushLag());
    }

    /** How many times this agent declared its compute wedged and replaced it. */
    public long wedgeCount() {
        return wedges.get();
    }

    /**
     * From the monitor's thread: the commit path is wedged. The compute is marked FAILED with the
     * reason and killed (an orderly shutdown would wait on the same safekeepers); its supervisor
     * then starts a new one (a new term and a basebackup), as after any crash. Runs on another
     * thread so the monitor never waits for this object's lock (stop() holds it while closing
     * the monitor).
     */
    private void wedged(String reason) {
        announcer.execute(() -> {
            synchronized (this) {
                if (state != ComputeState.RUNNING) {
                    return;
                }
                wedges.incrementAndGet();
                failure = "commit path wedged: " + reason;
                log.error("timeline={} {}; killing the compute so that a new one replaces it", spec.timeline(), failure);
                state = ComputeState.FAILED;
                stopPostgresQuietly(true);
            }
        });
    }

    /** Client activity now (open connections, last activity). */
    public Activity activity() throws SQLException {
        ActivityProbe p;
        synchronized (this) {
            p = probe;
        }
        if (p == null || state() != ComputeState.RUNNING) {
            throw new SQLException("compute for timeline " + spec.timeline() + " is " + state());
        }
        return p.probe();
    }

    /** A libpq URI for a database on the running compute (with the password). */
    public synchronized String connectionUri(String database) {
        if (postgres == null) {
            throw new IllegalStateException("compute for timeline " + spec.timeline() + " is not running");
        }
        return postgres.connectionUri(database);
    }

    /** The PostgreSQL log file of the current or last compute. */
    public synchronized Path logFile() {
        return postgres != null ? postgres.logFile() : spec.dataDir().resolveSibling(spec.dataDir().getFileName() + ".log");
    }

    /**
     * Fast shutdown: open transactions abort; every acknowledged commit is already on the
     * safekeepers. PostgreSQL's walsenders hand the shutdown checkpoint to the safekeepers
     * before it exits; after a clean shutdown the directory is synced and marked reusable at
     * the end of that checkpoint, so the next start can skip the basebackup if the timeline
     * has not moved.
     */
    public synchronized void stop() {
        if (state == ComputeState.STOPPED) {
            return;
        }
        boolean wasRunning = state == ComputeState.RUNNING;
        state = ComputeState.STOPPING;
        try {
            if (wasRunning && postgres != null && postgres.isRunning()) {
                // The shutdown checkpoint reaches the safekeepers only through connected
                // walsenders: a stop right after a start waits (bounded) for them.
                try {
                    awaitStreaming(proposer.quorum());
                } catch (ComputeStartException e) {
                    log.warn("timeline={} stopping without a streaming majority: {}", spec.timeline(), e.getMessage());
                }
            }
            stopPostgresQuietly();
            if (wasRunning) {
                Lsn end = ReuseMark.cleanShutdownEnd(spec.dataDir());
                if (end != null) {
                    ReuseMark.write(reuseMarkFile(), spec.dataDir(), spec.timeline(), end);
                }
            }
        } catch (RuntimeException e) {
            log.warn("timeline={} the data directory is not marked reusable: {}", spec.timeline(), e.getMessage());
        } finally {
            state = ComputeState.STOPPED;
        }
    }

    /** Beside the data directory, so that unpacking a basebackup never meets it. */
    private Path reuseMarkFile() {
        return spec.dataDir().resolveSibling(spec.dataDir().getFileName() + ".reusable");
    }

    /** kill -9 of the postmaster (tests and fault injection). */
    public synchronized void kill() {
        if (postgres != null) {
            postgres.kill();
        }
    }

    private void stopPostgresQuietly() {
        stopPostgresQuietly(false);
    }

    private void stopPostgresQuietly(boolean kill) {
        if (announcing != null) {
            announcing.cancel(false);
            announcing = null;
        }
        if (monitor != null) {
            // First: the monitor continues every backend it stopped before it ends.
            monitor.close();
            lastCommitPath = monitor.status();
            monitor = null;
        }
        if (kill && postgres != null) {
            postgres.kill();
        }
        if (probe != null) {
            probe.close();
            probe = null;
        }
        if (postgres != null) {
            try {
                postgres.stop();
            } catch (RuntimeException e) {
                log.warn("timeline={} stopping PostgreSQL failed; killing it: {}", spec.timeline(), e.getMessage());
                postgres.kill();
            }
        }
    }

    @Override
    public void close() {
        stop();
        announcer.shutdownNow();
    }

    /** For messages: never the password. */
    @Override
    public String toString() {
        return "compute of timeline " + spec.timeline() + " (" + state + ")";
    }
}
