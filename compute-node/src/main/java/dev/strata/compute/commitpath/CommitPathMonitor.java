package dev.strata.compute.commitpath;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.replication.ReplicationSlotName;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The compute agent's commit-path control loop (docs/commit-path.md, decisions 0007 and 0008).
 * Every {@code strata.throttle_period} it samples, over its own superuser connection, the
 * compute's WAL insert position and each safekeeper's slot and walsender, then:
 * <ul>
 *   <li>throttles: while the quorum's flush position lags, or is about to lag, by more than
 *       half of {@code strata.max_replication_flush_lag}, the writing backends (client backends and
 *       autovacuum workers, never walsenders or auxiliary processes) are stopped with SIGSTOP for
 *       part of the period and continued with SIGCONT ({@link ThrottlePolicy});</li>
 *   <li>repairs slots PostgreSQL invalidated ({@code max_slot_wal_keep_size}), by re-creating them;</li>
 *   <li>detects a wedge ({@link WedgeDetector}) and hands its reason to {@code onWedge} once, then
 *       stops: the compute agent replaces the compute.</li>
 * </ul>
 * Every stop is followed by a continue in a {@code finally}, on every path, and nothing is left
 * stopped when the loop ends.
 */
public final class CommitPathMonitor implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CommitPathMonitor.class);
    /** The agent's connections carry this name; the monitor never throttles them. */
    public static final String APPLICATION_NAME = "strata-agent";

    private final String timeline;
    private final String jdbcUrl;
    private final Properties props = new Properties();
    private final Map<ReplicationSlotName, NodeId> slots = new LinkedHashMap<>();
    private final int quorum;
    private final CommitPathSettings settings;
    private final ThrottlePolicy policy;
    private final WedgeDetector detector;
    private final BackendSignals signals;
    private final Consumer<String> onWedge;
    private volatile boolean running;
    private volatile CommitPathStatus status;
    private Thread thread;
    private Connection connection;
    private long throttledNanos;
    private long slotsRecreated;
    private boolean wasThrottling;
    private long throttleEpisodeStart;
    /** The previous sample's lag and time (System.nanoTime), for the lag's growth rate; time 0 before the first. */
    private long previousLag;
    private long previousSampleNanos;
    /** Time the last cycle spent signalling (kill(1) forks): the writers run during it, as during sampling. */
    private long lastSignalNanos;
    private long peakLag;

    /**
     * @param safekeepers the timeline's safekeepers; each gets a slot
     * @param quorum      how many of them must flush a commit
     * @param onWedge     called once, from the monitor's thread, with why the commit path is wedged
     */
    public CommitPathMonitor(String timeline, String jdbcUrl, String user, String password, List<NodeId> safekeepers,
                             int quorum, CommitPathSettings settings, BackendSignals signals, Consumer<String> onWedge) {
        this.timeline = timeline;
        this.jdbcUrl = jdbcUrl;
        props.setProperty("user", user);
        props.setProperty("password", password);
        props.setProperty("ApplicationName", APPLICATION_NAME);
        props.setProperty("connectTimeout", "5");
        props.setProperty("socketTimeout", "10");
        for (NodeId id : safekeepers) {
            slots.put(ReplicationSlotName.forSafekeeper(id), id);
        }
        this.quorum = quorum;
        this.settings = Objects.requireNonNull(settings, "settings is null");
        this.policy = new ThrottlePolicy(settings.maxReplicationFlushLag(), settings.throttlePeriod());
        this.detector = new WedgeDetector(settings.wedgeTimeout());
        this.signals = signals;
        this.onWedge = onWedge;
        this.status = CommitPathStatus.notStarted(settings.maxReplicationFlushLag());
    }

    /** The slot of each safekeeper, by name. */
    public Map<ReplicationSlotName, NodeId> slots() {
        return Map.copyOf(slots);
    }

    /**
     * Creates the safekeepers' slots (before the compute takes client work) and starts the loop.
     *
     * @throws SQLException when the slots cannot be created: the compute must not run without them
     */
    public synchronized void start() throws SQLException {
        connection = DriverManager.getConnection(jdbcUrl, props);
        try {
            slotsRecreated += ReplicationSlots.ensure(connection, slots.keySet());
        } catch (SQLException | RuntimeException e) {
            closeConnection();
            throw e;
        }
        log.info("timeline={} slots={} replication slots in place", timeline, slots.keySet());
        running = true;
        thread = Thread.ofPlatform().daemon().name("commit-path-" + timeline).start(this::run);
    }

    public CommitPathStatus status() {
        return status;
    }

    private void run() {
        while (running) {
            try {
                cycle();
            } catch (SQLException | RuntimeException e) {
                String msg = e.getMessage();
                CommitPathStatus s = status;
                status = new CommitPathStatus(Instant.now(), s.insertLsn(), s.quorumFlush(), s.flushLag(), s.writeLag(),
                        s.bound(), false, 0, Duration.ofNanos(throttledNanos), s.commitsWaiting(), s.waitingFor(),
                        s.safekeepers(), slotsRecreated, s.wedged(), msg, s.peakFlushLag());
                log.debug("timeline={} commit-path sample failed: {}", timeline, msg);
                closeConnection();
                park(settings.throttlePeriod().toNanos());
            }
        }
        closeConnection();
    }

    private void cycle() throws SQLException {
        if (connection == null || connection.isClosed()) {
            connection = DriverManager.getConnection(jdbcUrl, props);
        }
        long sampleStart = System.nanoTime();
        CommitPathSample sample = sample(connection);
        long sampled = System.nanoTime();
        if (sample.safekeepers().stream().anyMatch(p -> p.slotLost() || "missing".equals(p.walStatus()))) {
            slotsRecreated += ReplicationSlots.ensure(connection, slots.keySet());
        }
        Instant now = Instant.now();
        long lag = sample.flushLag(quorum);
        Lsn quorumFlush = sample.quorumFlush(quorum);
        // Predict, do not only react (decision 0008): how fast the lag grew since the last sample,
        // and how long this cycle spends outside its stop and run (the writers run then).
        double growth = previousSampleNanos == 0 ? 0
                : (lag - previousLag) / Math.max(1e-3, (sampled - previousSampleNanos) / 1e9);
        previousLag = lag;
        previousSampleNanos = sampled;
        peakLag = Math.max(peakLag, lag);
        DutyCycle duty = policy.decide(lag, growth, Duration.ofNanos((sampled - sampleStart) + lastSignalNanos));
        Optional<Duration> wedge = detector.observe(now, sample.commitsWaiting() > 0, quorumFlush);
        String wedged = wedge.map(d -> wedgeReason(d, sample, quorumFlush)).orElse(null);
        status = new CommitPathStatus(now, sample.insertLsn(), quorumFlush, lag, sample.writeLag(quorum), policy.bound(),
                duty.throttling() && wedged == null, duty.stopFraction(), Duration.ofNanos(throttledNanos),
                sample.commitsWaiting(), detector.waiting(now), sample.safekeepers(), slotsRecreated, wedged, null, peakLag);
        noteTransition(duty, lag);
        if (wedged != null) {
            log.error("timeline={} commit path wedged: {}; replacing the compute", timeline, wedged);
            running = false;
            onWedge.accept(wedged);
            return;
        }
        if (!duty.throttling()) {
            lastSignalNanos = 0;
            park(duty.run().toNanos());
            return;
        }
        List<Long> pids = sample.writers().stream().filter(p -> isChildOf(p, sample.postmasterPid())).toList();
        long t0 = System.nanoTime();
        long stopped = t0;
        long continued;
        try {
            signals.stop(pids);
            stopped = System.nanoTime();
            park(duty.stop().toNanos());
        } finally {
            // Always, whatever happened above: a backend is never left stopped.
            long c0 = System.nanoTime();
            signals.cont(pids);
            continued = System.nanoTime();
            lastSignalNanos = (stopped - t0) + (continued - c0);
            throttledNanos += pids.isEmpty() ? 0 : continued - t0;
        }
        park(duty.run().toNanos());
    }

    private void noteTransition(DutyCycle duty, long lag) {
        if (duty.throttling() && !wasThrottling) {
            throttleEpisodeStart = System.nanoTime();
            log.info("timeline={} lag={} bound={} the quorum lags the compute's WAL by more than "
                    + "half of strata.max_replication_flush_lag, or soon will: throttling writers", timeline, lag, policy.bound());
        } else if (!duty.throttling() && wasThrottling) {
            log.info("timeline={} lag={} peakLag={} throttling ended after {} ms", timeline, lag, peakLag,
                    (System.nanoTime() - throttleEpisodeStart) / 1_000_000);
        }
        wasThrottling = duty.throttling();
    }

    private String wedgeReason(Duration stuck, CommitPathSample sample, Lsn quorumFlush) {
        return String.format("commits have waited %d s on the safekeepers while the quorum's flush position stood at "
                        + "%s (insert %s, %d of %d safekeepers needed); safekeepers: %s", stuck.toSeconds(), quorumFlush,
                sample.insertLsn(), quorum, slots.size(),
                sample.safekeepers().stream().map(SafekeeperPosition::toString).collect(Collectors.joining("; ")));
    }

    /**
     * One round trip: the insert position and this session's pid ({@code i}), each strata slot with
     * its walsender ({@code s}), and the backends that may be throttled ({@code a}). On a starved
     * machine every round trip is time the writers run unchecked, so the three are one query.
     */
    private static final String SAMPLE = "SELECT 'i', pg_current_wal_insert_lsn()::text, pg_backend_pid()::text, "
            + "NULL, NULL, NULL, NULL "
            + "UNION ALL SELECT 's', s.slot_name::text, s.restart_lsn::text, s.wal_status, r.state, r.write_lsn::text, "
            + "r.flush_lsn::text FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid "
            + "WHERE s.slot_type = 'physical' AND s.slot_name LIKE 'strata\\_%' "
            + "UNION ALL SELECT 'a', pid::text, coalesce(wait_event = 'SyncRep', false)::text, NULL, NULL, NULL, NULL "
            + "FROM pg_stat_activity WHERE backend_type IN ('client backend', 'autovacuum worker') "
            + "AND pid <> pg_backend_pid() AND coalesce(application_name, '') <> ?";

    private CommitPathSample sample(Connection c) throws SQLException {
        Lsn insert = null;
        long self = -1;
        Map<ReplicationSlotName, SafekeeperPosition> found = new LinkedHashMap<>();
        List<Long> writers = new ArrayList<>();
        int waiting = 0;
        try (PreparedStatement q = c.prepareStatement(SAMPLE)) {
            q.setString(1, APPLICATION_NAME);
            try (ResultSet rs = q.executeQuery()) {
                while (rs.next()) {
                    switch (rs.getString(1)) {
                        case "i" -> {
                            insert = Lsn.parse(rs.getString(2));
                            self = Long.parseLong(rs.getString(3));
                        }
                        case "s" -> {
                            ReplicationSlotName name = new ReplicationSlotName(rs.getString(2));
                            NodeId id = slots.get(name);
                            if (id != null) {
                                found.put(name, new SafekeeperPosition(id, name, lsnOrNull(rs.getString(3)),
                                        rs.getString(4), rs.getString(5) == null ? "disconnected" : rs.getString(5),
                                        lsnOrNull(rs.getString(6)), lsnOrNull(rs.getString(7))));
                            }
                        }
                        case "a" -> {
                            if (Boolean.parseBoolean(rs.getString(3))) {
                                waiting++; // already waiting for the safekeepers: stopping it would gain nothing
                            } else {
                                writers.add(Long.parseLong(rs.getString(2)));
                            }
                        }
                        default -> throw new IllegalStateException("unexpected sample row " + rs.getString(1));
                    }
                }
            }
        }
        if (insert == null) {
            throw new SQLException("the commit-path sample returned no insert position");
        }
        List<SafekeeperPosition> positions = new ArrayList<>();
        slots.forEach((name, id) -> positions.add(found.getOrDefault(name,
                new SafekeeperPosition(id, name, null, "missing", "disconnected", null, null))));
        long postmaster = ProcessHandle.of(self).flatMap(ProcessHandle::parent).map(ProcessHandle::pid).orElse(-1L);
        return new CommitPathSample(insert, positions, writers, waiting, postmaster);
    }

    /** Never signal a pid that is not (any more) one of this postmaster's backends. */
    private static boolean isChildOf(long pid, long postmaster) {
        return postmaster > 0 && ProcessHandle.of(pid).flatMap(ProcessHandle::parent)
                .map(p -> p.pid() == postmaster).orElse(false);
    }

    private static Lsn lsnOrNull(String s) {
        return s == null ? null : Lsn.parse(s);
    }

    private static void park(long nanos) {
        long deadline = System.nanoTime() + nanos;
        long left;
        while ((left = deadline - System.nanoTime()) > 0) {
            LockSupport.parkNanos(left);
        }
    }

    private void closeConnection() {
        Connection c = connection;
        connection = null;
        if (c != null) {
            try {
                c.close();
            } catch (SQLException e) {
                log.debug("timeline={} closing the commit-path connection: {}", timeline, e.getMessage());
            }
        }
    }

    /**
     * Ends the loop and waits for it (bounded): its last cycle always continues what it stopped.
     * Not by interrupting it, so a SIGCONT is never skipped.
     */
    @Override
    public void close() {
        running = false;
        Thread t;
        synchronized (this) {
            t = thread;
        }
        if (t != null && t != Thread.currentThread()) {
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (t == null) {
            closeConnection();
        }
    }
}
