package dev.strata.cli.local;

import dev.strata.compute.node.ComputeNode;
import dev.strata.compute.node.ComputeState;
import dev.strata.compute.node.StartedCompute;
import dev.strata.compute.activity.Activity;
import dev.strata.pgcore.id.EndpointId;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One branch's endpoint in the local cluster: at most one compute, started when a client
 * connects (or at {@code up} for {@code main}), stopped when idle, replaced by itself when it
 * dies while wanted, and rebuilt on the branch's new timeline when a restore repoints the branch.
 * Starts, stops and repoints of one endpoint are serialized on it; endpoints never wait for
 * each other.
 */
final class LocalEndpoint {

    private static final Logger log = LoggerFactory.getLogger(LocalEndpoint.class);

    private final Function<LocalBranch, ComputeNode> computes;
    private final Consumer<String> progress;
    private volatile LocalBranch branch;
    private volatile ComputeNode compute;
    private volatile boolean wanted;
    /**
     * The proxy found the endpoint idle but the compute has clients of its own (sessions that
     * did not come through the proxy: a direct connection, a replication client): it keeps
     * running, and {@link #supervise} suspends it once the compute itself has been idle for
     * {@link #idleTimeout}.
     */
    private volatile boolean keptForActivity;
    private volatile Duration idleTimeout = Duration.ofMinutes(5);
    private int restarts;

    LocalEndpoint(LocalBranch branch, Function<LocalBranch, ComputeNode> computes, Consumer<String> progress) {
        this.branch = branch;
        this.computes = computes;
        this.progress = progress;
        this.compute = computes.apply(branch);
    }

    EndpointId id() {
        return branch.endpoint();
    }

    LocalBranch branch() {
        return branch;
    }

    ComputeNode compute() {
        return compute;
    }

    boolean wanted() {
        return wanted;
    }

    int restarts() {
        return restarts;
    }

    /** Starts the compute (if it is not running); returns its address. */
    synchronized StartedCompute start() {
        wanted = true;
        keptForActivity = false; // the proxy routes to it again and will say when it is idle
        StartedCompute s = compute.started();
        if (s != null) {
            return s;
        }
        s = compute.start();
        progress.accept(String.format("compute of branch '%s' running: term %s, WAL from %s, started in %d ms (%s)",
                branch.name(), s.term(), s.epochStart(), s.total().toMillis(), s.breakdown()));
        return s;
    }

    /** Stops the compute (suspend); the next {@link #start} starts a new one. */
    synchronized void stop() {
        wanted = false;
        keptForActivity = false;
        compute.stop();
    }

    /**
     * The proxy's idle suspend: stops the compute unless the compute itself reports clients
     * (its {@code pg_stat_activity}) or activity within {@code idle}; then it stays up until
     * it is idle by its own account (issue 15: activity is the compute's, not only the proxy's).
     */
    synchronized void suspendIfIdle(Duration idle) {
        idleTimeout = idle;
        if (compute.started() != null && busy(idle)) {
            keptForActivity = true;
            log.info("branch={} idle at the proxy, but its compute has clients of its own; kept running",
                    branch.name());
            return;
        }
        stop();
    }

    /** True if the compute reports client connections or activity within {@code idle}; false if it cannot tell. */
    private boolean busy(Duration idle) {
        try {
            Activity a = compute.activity();
            return a.openConnections() > 0 || a.lastActivity().isAfter(Instant.now().minus(idle));
        } catch (Exception e) {
            log.info("branch={} compute activity unknown ({}); suspending", branch.name(), e.getMessage());
            return false;
        }
    }

    /**
     * Points the endpoint at the branch's new timeline (a restore): stops the old compute, builds
     * one for {@code repointed}, and starts it if the old one was wanted. Returns whether it was.
     */
    synchronized boolean repoint(LocalBranch repointed) {
        boolean wasWanted = wanted;
        compute.stop();
        branch = repointed;
        compute = computes.apply(repointed);
        if (wasWanted) {
            start();
        }
        return wasWanted;
    }

    /** Called every second: a wanted compute that died is started again from the pageserver. */
    synchronized void supervise() {
        if (wanted && keptForActivity && compute.state() == ComputeState.RUNNING && !busy(idleTimeout)) {
            log.info("branch={} its compute's own clients are gone; suspending", branch.name());
            stop();
            return;
        }
        if (!wanted || compute.state() != ComputeState.FAILED) {
            return;
        }
        restarts++;
        log.warn("branch={} timeline={} the compute is down ({}); starting a new one from the pageserver (restart {})",
                branch.name(), branch.timeline(), compute.failure(), restarts);
        try {
            start();
        } catch (RuntimeException e) {
            log.error("branch={} could not start a new compute; will retry: {}", branch.name(), e.getMessage());
        }
    }

    /** Stops the compute for good (cluster shutdown, branch deletion). */
    synchronized void close() {
        wanted = false;
        keptForActivity = false;
        compute.stop();
    }
}
