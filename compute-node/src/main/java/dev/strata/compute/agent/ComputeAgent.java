package dev.strata.compute.agent;

import dev.strata.compute.config.ComputeNetwork;
import dev.strata.compute.node.ComputeNode;
import dev.strata.compute.node.ComputeSpec;
import dev.strata.compute.node.ComputeState;
import dev.strata.compute.node.StartedCompute;
import dev.strata.compute.pageserver.PageServiceAccess;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresBinaries;
import dev.strata.pgcore.term.Term;
import dev.strata.safekeeper.election.Proposer;
import dev.strata.safekeeper.election.TermRefusedException;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A compute agent of the warm pool (architecture §2, §6): a process that runs Postgres for one
 * endpoint at a time, on the control plane's orders ({@link StartOrder}), over the agent API
 * ({@link AgentServer}). The control plane's Elect step has already won the term; the agent
 * takes it over ({@link ComputeNode#start(Term, Lsn)}), so Postgres starts at exactly the epoch
 * start the workflow recorded.
 *
 * <p>Every operation is idempotent, because a workflow step may run again after a retry or a lost
 * response: a start of the endpoint that already runs under the same term returns its address, a
 * stop of an endpoint that does not run here does nothing. A start of another endpoint while one
 * runs is refused ({@link AgentBusyException}); a start under a term older than the running one,
 * or one that a newer election superseded, is refused ({@link TermRefusedException}) and leaves
 * nothing running.
 */
public final class ComputeAgent implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ComputeAgent.class);

    /**
     * How this agent runs computes.
     *
     * @param dataRoot        the agent's directory; Postgres's data directory is {@code pgdata} in it
     * @param pageserverHost  the pageserver's page service host
     * @param pageserverPort  and port
     * @param safekeepers     the safekeepers (a majority acknowledges each commit)
     * @param computePort     the port Postgres listens on (0: any free port)
     * @param user            the superuser the agent and the safekeepers log in as
     * @param password        its password
     * @param network         where Postgres listens and whom it admits
     * @param settings        extra {@code postgresql.conf} settings
     * @param startTimeout    bound on each of the election take-over and the pageserver wait
     */
    public record Config(Path dataRoot, String pageserverHost, int pageserverPort, List<Proposer.Member> safekeepers,
                         int computePort, String user, String password, ComputeNetwork network,
                         Map<String, String> settings, Duration startTimeout) {
        public Config {
            Objects.requireNonNull(dataRoot, "dataRoot is null");
            Objects.requireNonNull(pageserverHost, "pageserverHost is null");
            Objects.requireNonNull(user, "user is null");
            Objects.requireNonNull(password, "password is null");
            Objects.requireNonNull(network, "network is null");
            Objects.requireNonNull(startTimeout, "startTimeout is null");
            safekeepers = List.copyOf(safekeepers);
            settings = Map.copyOf(settings);
            if (safekeepers.isEmpty()) {
                throw new IllegalArgumentException("a compute agent needs the safekeepers: without them no commit is durable");
            }
            if (pageserverPort <= 0 || pageserverPort > 65535) {
                throw new IllegalArgumentException("pageserver port " + pageserverPort + " is not a TCP port");
            }
            if (password.isEmpty()) {
                throw new IllegalArgumentException("the compute's role needs a password: computes never use trust");
            }
        }

        /** Without the password. */
        @Override
        public String toString() {
            return "Config[dataRoot=" + dataRoot + ", pageserver=" + pageserverHost + ":" + pageserverPort
                    + ", safekeepers=" + safekeepers + ", computePort=" + computePort + ", user=" + user
                    + ", network=" + network + ", settings=" + settings + ", startTimeout=" + startTimeout + "]";
        }
    }

    /** A compute this agent runs: the order it came from and where clients reach it. */
    public record Running(EndpointId endpoint, StartOrder order, String host, int port, Term term, Lsn epochStart) {
    }

    /**
     * What the agent is doing, for its status endpoint and the control plane.
     *
     * @param state   {@code idle}, {@code starting}, {@code running} or {@code failed}
     * @param running the compute, when running
     * @param failure why the last start failed or the compute died, when failed
     */
    public record Status(String state, EndpointId endpoint, Running running, String failure) {
    }

    private final Config config;
    private final PostgresBinaries binaries;
    /** The endpoint's compute, or null; written under this object's lock, read by status without it. */
    private volatile Slot slot;
    private volatile String lastFailure;

    private record Slot(StartOrder order, ComputeNode node, Running running) {
    }

    public ComputeAgent(Config config, PostgresBinaries binaries) {
        this.config = Objects.requireNonNull(config, "config is null");
        this.binaries = Objects.requireNonNull(binaries, "binaries is null");
    }

    public Config config() {
        return config;
    }

    /**
     * Starts Postgres for the order's endpoint, or returns it if it already runs under that term.
     *
     * @throws AgentBusyException   another endpoint runs here
     * @throws TermRefusedException the term is older than the running one, or was superseded
     * @throws RuntimeException     the start failed (nothing is left running; {@link #status()} says why)
     */
    public synchronized Running start(StartOrder order) {
        Slot current = slot;
        if (current != null) {
            ComputeState state = current.node().state();
            boolean live = state == ComputeState.RUNNING || state == ComputeState.STARTING;
            if (!current.order().endpoint().equals(order.endpoint())) {
                if (live) {
                    throw new AgentBusyException(current.order().endpoint(), order.endpoint());
                }
            } else if (live && current.order().timeline().equals(order.timeline())) {
                int cmp = order.term().compareTo(current.order().term());
                if (cmp == 0 && state == ComputeState.RUNNING) {
                    return current.running();
                }
                if (cmp < 0) {
                    throw new TermRefusedException("endpoint " + order.endpoint() + " runs here under term "
                            + current.order().term() + "; a start under the older term " + order.term() + " is stale",
                            current.order().term());
                }
            }
            log.info("endpoint={} replacing the {} compute of {} for {}", order.endpoint(), state, current.order(), order);
            slot = null;
            current.node().close();
        }
        ComputeSpec spec = new ComputeSpec(order.timeline(), config.safekeepers(), config.dataRoot().resolve("pgdata"),
                config.computePort(), config.user(), config.password(), order.computeToken(), config.settings(),
                config.startTimeout(), config.startTimeout(), config.network());
        ComputeNode node = new ComputeNode(spec,
                new PageServiceAccess(config.pageserverHost(), config.pageserverPort(), order.computeToken()), binaries,
                line -> log.info("endpoint={} timeline={}: {}", order.endpoint(), order.timeline(), line));
        slot = new Slot(order, node, null);
        try {
            StartedCompute s = node.start(order.term(), order.startLsn());
            Running running = new Running(order.endpoint(), order, s.host(), s.port(), s.term(), s.epochStart());
            slot = new Slot(order, node, running);
            lastFailure = null;
            log.info("endpoint={} timeline={} term={} running on {}:{} (started in {} ms: {})", order.endpoint(),
                    order.timeline(), s.term(), s.host(), s.port(), s.total().toMillis(), s.breakdown());
            return running;
        } catch (RuntimeException e) {
            lastFailure = "start of endpoint " + order.endpoint() + " failed: " + e.getMessage();
            slot = null;
            node.close();
            throw e;
        }
    }

    /** Fast shutdown of the endpoint's Postgres; returns false (and does nothing) if it does not run here. */
    public synchronized boolean stop(EndpointId endpoint) {
        Slot current = slot;
        if (current == null || !current.order().endpoint().equals(endpoint)) {
            return false;
        }
        slot = null;
        current.node().close();
        log.info("endpoint={} stopped", endpoint);
        return true;
    }

    /**
     * The client sessions the endpoint's Postgres has open, as it sees them (the agent's own
     * connections excluded), whichever way they came in.
     *
     * @throws NoSuchElementException the endpoint does not run here
     */
    public int sessions(EndpointId endpoint) throws SQLException {
        Slot current = slot;
        if (current == null || current.running() == null || !current.order().endpoint().equals(endpoint)
                || current.node().state() != ComputeState.RUNNING) {
            throw new NoSuchElementException("endpoint " + endpoint + " does not run on this agent");
        }
        return current.node().activity().openConnections();
    }

    /**
     * The compute this agent runs (or last failed to run) for {@code endpoint}, for the cluster's
     * status report (commit path, wedges). Never waits for a start in progress.
     */
    public Optional<ComputeNode> compute(EndpointId endpoint) {
        Slot current = slot;
        return current != null && current.order().endpoint().equals(endpoint)
                ? Optional.of(current.node()) : Optional.empty();
    }

    /** Never waits for a start in progress. */
    public Status status() {
        Slot current = slot;
        if (current == null) {
            String failure = lastFailure;
            return new Status(failure == null ? "idle" : "failed", null, null, failure);
        }
        ComputeState state = current.node().state();
        return switch (state) {
            case RUNNING -> current.running() == null
                    ? new Status("starting", current.order().endpoint(), null, null)
                    : new Status("running", current.order().endpoint(), current.running(), null);
            case FAILED -> new Status("failed", current.order().endpoint(), null, current.node().failure());
            case STARTING -> new Status("starting", current.order().endpoint(), null, null);
            default -> new Status("idle", null, null, null);
        };
    }

    @Override
    public synchronized void close() {
        Slot current = slot;
        slot = null;
        if (current != null) {
            current.node().close();
        }
    }
}
