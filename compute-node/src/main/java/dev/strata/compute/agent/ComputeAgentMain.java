package dev.strata.compute.agent;

import dev.strata.control.metadata.DynamoClients;
import dev.strata.control.metadata.MetadataStore;
import dev.strata.control.runtime.ControlPlane;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;

import dev.strata.compute.config.ComputeNetwork;
import dev.strata.pgcore.auth.AuthKeys;
import dev.strata.pgcore.auth.TokenVerifier;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.metrics.MetricNames;
import dev.strata.pgcore.metrics.MetricsOptions;
import dev.strata.pgcore.metrics.MetricsReporter;
import dev.strata.pgcore.postgres.PostgresBinaries;
import dev.strata.safekeeper.election.Proposer;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a compute agent as a process (a task of the warm compute pool on AWS, or a child process).
 * Arguments:
 *
 * <pre>
 *   --data-dir DIR --auth-public-keys FILE --pageserver HOST:PORT --safekeeper ID=URL [--safekeeper ID=URL ...]
 *   [--listen 127.0.0.1] [--port 3080] [--compute-port 0] [--user postgres]
 *   [--compute-listen 127.0.0.1] [--advertise-host HOST] [--client-network CIDR] [--start-timeout-seconds 60]
 *   [--metadata-table NAME [--agent-id ID] [--idle-exit-minutes N]] [--metrics-environment NAME [--metrics-interval 60]]
 * </pre>
 *
 * {@code --listen}/{@code --port}: the agent API. {@code --auth-public-keys}: the JWK Set whose
 * keys sign the {@code agentapi} tokens the API accepts (the control plane's). The agent holds no
 * token of its own: each start order carries the compute token of its timeline. The database
 * superuser's password comes from {@code STRATA_COMPUTE_PASSWORD} (never the command line, which
 * other users can read). {@code --compute-listen 0.0.0.0 --advertise-host <task address>
 * --client-network <VPC CIDR>} make the compute reachable by the proxy and the safekeepers over
 * the VPC ({@link ComputeNetwork}). {@code --metadata-table} (or {@code STRATA_METADATA_TABLE}): once
 * the API listens, the agent joins the warm pool in that table as an IDLE agent at its API address
 * ({@link PoolRegistration}; id {@code --agent-id}, by default from the advertised host), so the
 * wake workflow's ClaimAgent finds it, and leaves it at a clean stop; DynamoDB is reached with the
 * task role in {@code AWS_REGION}, or at {@code STRATA_DYNAMODB_ENDPOINT} (local runs). Once the API
 * listens (and the agent is in the pool) it prints {@code READY http=<port>}.
 * {@code --idle-exit-minutes N} (1..1440; needs the table): an on-demand task, started by a wake
 * that found no IDLE agent, leaves the pool once its item has stayed IDLE, unchanged, for N minutes
 * and the process exits with status 0 ({@link IdleExit}, checked every 30 s); without it the agent
 * never leaves on its own (the pool's service tasks).
 * {@code --metrics-environment}: its gauges ({@link AgentGauges}) as CloudWatch embedded-metric
 * lines on standard output every interval, dimensions {@code Environment} and {@code Node} (the
 * agent id). {@code --agent-id}, {@code --idle-exit-minutes}, {@code --metrics-environment} and
 * {@code --metrics-interval} also come from the environment as {@code STRATA_COMPUTE_<OPTION>}
 * (upper case, {@code -} as {@code _}: {@code STRATA_COMPUTE_AGENT_ID},
 * {@code STRATA_COMPUTE_IDLE_EXIT_MINUTES}, ...), which is how a task's definition or a RunTask
 * override sets them; the command line wins.
 */
public final class ComputeAgentMain {

    /** The superuser's password, from the environment only. */
    public static final String PASSWORD_ENV = "STRATA_COMPUTE_PASSWORD";
    /** The metadata table whose warm pool the agent joins ({@code --metadata-table} wins). */
    public static final String TABLE_ENV = ControlPlane.TABLE_ENV;
    /** The prefix of the environment variables that stand for {@link #ENV_OPTIONS} ({@link #envName}). */
    static final String ENV_PREFIX = "STRATA_COMPUTE_";
    /** The options a task may set in its environment instead of its command line (the command line wins). */
    private static final List<String> ENV_OPTIONS = List.of("agent-id", "idle-exit-minutes", "metrics-environment",
            "metrics-interval");
    /** How often an on-demand agent looks whether it has been idle long enough to leave. */
    private static final Duration IDLE_CHECK_PERIOD = Duration.ofSeconds(30);
    /** How long a stop waits for an idle check in flight. */
    private static final Duration IDLE_CHECK_WAIT = Duration.ofSeconds(10);

    private static final Logger log = LoggerFactory.getLogger(ComputeAgentMain.class);
    private static final Set<String> OPTIONS = Set.of("data-dir", "auth-public-keys", "pageserver", "listen", "port",
            "compute-port", "user", "compute-listen", "advertise-host", "client-network", "start-timeout-seconds", "metadata-table", "agent-id",
            "idle-exit-minutes", "metrics-environment", "metrics-interval");

    private ComputeAgentMain() {
    }

    /**
     * What the arguments and environment say; {@link IllegalArgumentException} with the problem otherwise.
     *
     * @param metadataTable null: the agent does not join a warm pool in the metadata
     * @param agentId       the id it registers under (null without a metadata table)
     * @param idleExit      how long the agent stays IDLE in the pool before it leaves and exits (an
     *                      on-demand task); null: it never leaves on its own
     */
    record Parsed(ComputeAgent.Config config, Path publicKeys, String listen, int port, String metadataTable,
                  NodeId agentId, Duration idleExit, String metricsEnvironment, Duration metricsInterval) {

        /** The agent API's address as the control plane reaches it: the advertised host where the API listens on all addresses. */
        String apiAddress(int boundPort) {
            String host = listen.equals("0.0.0.0") || listen.equals("::") ? config.network().advertisedHost() : listen;
            return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + boundPort;
        }
    }

    static Parsed parse(String[] args, Map<String, String> env) {
        Map<String, String> opts = new HashMap<>();
        List<Proposer.Member> safekeepers = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("unexpected argument '" + a + "'");
            }
            String name = a.substring(2);
            String v = args[++i];
            if (name.equals("safekeeper")) {
                int eq = v.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("--safekeeper takes ID=URL, got '" + v + "'");
                }
                URI url;
                try {
                    url = URI.create(v.substring(eq + 1));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("--safekeeper " + v + ": not a URL", e);
                }
                if (!"http".equals(url.getScheme()) && !"https".equals(url.getScheme()) || url.getHost() == null) {
                    throw new IllegalArgumentException("--safekeeper " + v + ": the URL must be http(s)://host:port");
                }
                safekeepers.add(new Proposer.Member(NodeId.of(v.substring(0, eq)), url));
            } else if (!OPTIONS.contains(name)) {
                throw new IllegalArgumentException("unknown option --" + name);
            } else if (opts.put(name, v) != null) {
                throw new IllegalArgumentException("--" + name + " given twice");
            }
        }
        for (String required : List.of("data-dir", "auth-public-keys", "pageserver")) {
            if (!opts.containsKey(required)) {
                throw new IllegalArgumentException("--" + required + " is required");
            }
        }
        if (safekeepers.isEmpty()) {
            throw new IllegalArgumentException("at least one --safekeeper ID=URL is required (three in production)");
        }
        String password = env.get(PASSWORD_ENV);
        if (password == null || password.isEmpty()) {
            throw new IllegalArgumentException("set " + PASSWORD_ENV + ": computes never run without a password");
        }
        String pageserver = opts.get("pageserver");
        int colon = pageserver.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("--pageserver takes HOST:PORT (the page service), got '" + pageserver + "'");
        }
        int pageserverPort = port("pageserver", pageserver.substring(colon + 1), false);
        String computeListen = opts.getOrDefault("compute-listen", "127.0.0.1");
        String advertise = opts.get("advertise-host");
        if (advertise == null) {
            if (computeListen.equals("0.0.0.0") || computeListen.equals("::")) {
                throw new IllegalArgumentException("--compute-listen " + computeListen + " needs --advertise-host: the "
                        + "address the proxy and the safekeepers reach the compute at");
            }
            advertise = computeListen;
        }
        ComputeNetwork network = new ComputeNetwork(computeListen, advertise, opts.get("client-network"));
        long timeout = parseLong("start-timeout-seconds", opts.getOrDefault("start-timeout-seconds", "60"));
        if (timeout < 1 || timeout > 3600) {
            throw new IllegalArgumentException("--start-timeout-seconds must be 1..3600, got " + timeout);
        }
        ComputeAgent.Config config = new ComputeAgent.Config(Path.of(opts.get("data-dir")),
                pageserver.substring(0, colon), pageserverPort, safekeepers,
                port("compute-port", opts.getOrDefault("compute-port", "0"), true),
                opts.getOrDefault("user", "postgres"), password, network, Map.of(), Duration.ofSeconds(timeout));
        for (String o : ENV_OPTIONS) {
            String v = env.get(envName(o));
            if (v != null && !v.isEmpty()) {
                opts.putIfAbsent(o, v);
            }
        }
        String table = opts.getOrDefault("metadata-table", env.get(TABLE_ENV));
        table = table == null || table.isBlank() ? null : table.trim();
        NodeId agentId = null;
        Duration idleExit = null;
        if (table != null) {
            if (!table.matches("[a-zA-Z0-9_.-]{3,255}")) {
                throw new IllegalArgumentException("--metadata-table / " + TABLE_ENV + ": '" + table
                        + "' is not a DynamoDB table name");
            }
            try {
                agentId = opts.containsKey("agent-id") ? NodeId.of(opts.get("agent-id"))
                        : PoolRegistration.defaultId(advertise);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(both("agent-id") + ": " + e.getMessage(), e);
            }
            String minutes = opts.get("idle-exit-minutes");
            if (minutes != null) {
                int n = minutes.matches("[0-9]{1,4}") ? Integer.parseInt(minutes) : 0;
                if (n < 1 || n > 1440) {
                    throw new IllegalArgumentException(both("idle-exit-minutes") + " takes whole minutes 1..1440 "
                            + "(a day), got '" + minutes + "'");
                }
                idleExit = Duration.ofMinutes(n);
            }
        } else {
            for (String o : List.of("agent-id", "idle-exit-minutes")) {
                if (opts.containsKey(o)) {
                    throw new IllegalArgumentException(both(o) + " is about the agent in the warm pool: it needs "
                            + "--metadata-table (or " + TABLE_ENV + ")");
                }
            }
        }
        Duration metricsInterval = MetricsOptions.interval(opts.get("metrics-environment"), opts.get("metrics-interval"));
        return new Parsed(config, Path.of(opts.get("auth-public-keys")), opts.getOrDefault("listen", "127.0.0.1"),
                port("port", opts.getOrDefault("port", "3080"), true), table, agentId, idleExit,
                opts.get("metrics-environment"), metricsInterval);
    }

    /** The environment variable that stands for {@code --option}: {@code STRATA_COMPUTE_AGENT_ID} for {@code agent-id}. */
    static String envName(String option) {
        return ENV_PREFIX + option.toUpperCase(Locale.ROOT).replace('-', '_');
    }

    /** {@code --option / ENV}, for an error about a value that may have come from either. */
    private static String both(String option) {
        return "--" + option + " / " + envName(option);
    }

    private static int port(String option, String value, boolean zeroAllowed) {
        long p = parseLong(option, value);
        if (p < (zeroAllowed ? 0 : 1) || p > 65535) {
            throw new IllegalArgumentException("--" + option + ": " + value + " is not a TCP port");
        }
        return (int) p;
    }

    private static long parseLong(String option, String value) {
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + option + ": '" + value + "' is not a number");
        }
    }

    public static void main(String[] args) throws InterruptedException {
        Parsed parsed = null;
        TokenVerifier verifier = null;
        try {
            parsed = parse(args, System.getenv());
            verifier = new TokenVerifier(AuthKeys.readPublicKeys(parsed.publicKeys()));
        } catch (IllegalArgumentException | IOException e) {
            usage(e.getMessage());
        }
        Running running;
        try {
            running = start(parsed, verifier, PostgresBinaries.resolve(), System.getenv());
        } catch (IllegalStateException e) {
            usage(e.getMessage());
            return;
        }
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            running.close();
            stop.countDown();
        }));
        System.out.println("READY http=" + running.server().port());
        System.out.flush();
        stop.await();
    }

    /**
     * A started agent: its API, and its item in the warm pool if a metadata table was given
     * ({@code pool} and {@code dynamo} null otherwise), with the periodic {@link IdleExit} check of
     * an on-demand agent ({@code idleWatch}, null otherwise). {@link #close} stops that check and
     * leaves the pool first (no wake claims a stopping agent), then stops the API and Postgres
     * (fast shutdown: every acknowledged commit is on the safekeepers).
     */
    record Running(ComputeAgent agent, AgentServer server, PoolRegistration pool, DynamoDbClient dynamo,
                   ScheduledExecutorService idleWatch, MetricsReporter metrics) implements AutoCloseable {
        @Override
        public void close() {
            if (idleWatch != null) {
                // let a check in flight finish before its DynamoDB client closes (its reads are short)
                idleWatch.shutdown();
                try {
                    idleWatch.awaitTermination(IDLE_CHECK_WAIT.toMillis(), TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (pool != null) {
                pool.deregister();
                dynamo.close();
            }
            if (metrics != null) {
                metrics.close();
            }
            server.close();
            agent.close();
        }
    }

    /**
     * Its gauges ({@link AgentGauges}) as CloudWatch embedded-metric lines on standard output, under
     * {@code Environment} and {@code Node} (the agent id, else its API address), when an environment
     * was given; null otherwise.
     */
    private static MetricsReporter metrics(Parsed parsed, ComputeAgent agent, int boundPort) {
        if (parsed.metricsInterval() == null) {
            return null;
        }
        String node = parsed.agentId() != null ? parsed.agentId().toString() : parsed.apiAddress(boundPort);
        return MetricsReporter.start(parsed.metricsEnvironment(), Map.of(MetricNames.NODE, node),
                parsed.metricsInterval(), () -> AgentGauges.read(agent), System.out, Clock.systemUTC());
    }

    /**
     * Starts the agent's API and, with a metadata table, joins the warm pool (DynamoDB at
     * {@code STRATA_DYNAMODB_ENDPOINT} from {@code env}, else in {@code AWS_REGION} with the default
     * credentials).
     *
     * @throws IllegalStateException if the API cannot listen or the pool cannot be joined (nothing
     *                               is left running)
     */
    static Running start(Parsed parsed, TokenVerifier verifier, PostgresBinaries binaries, Map<String, String> env) {
        ComputeAgent agent = new ComputeAgent(parsed.config(), binaries);
        AgentServer server;
        try {
            server = AgentServer.start(agent, verifier, parsed.listen(), parsed.port());
        } catch (IOException e) {
            agent.close();
            throw new IllegalStateException("cannot listen on " + parsed.listen() + ":" + parsed.port() + ": "
                    + e.getMessage(), e);
        }
        if (parsed.metadataTable() == null) {
            return new Running(agent, server, null, null, null, metrics(parsed, agent, server.port()));
        }
        String endpoint = env.get(ControlPlane.DYNAMODB_ENDPOINT_ENV);
        DynamoDbClient dynamo = endpoint == null || endpoint.isBlank()
                ? DynamoClients.aws(Region.of(env.getOrDefault("AWS_REGION", "us-east-1")))
                : DynamoClients.local(URI.create(endpoint));
        try {
            PoolRegistration pool = new PoolRegistration(new MetadataStore(dynamo, parsed.metadataTable()),
                    parsed.agentId(), parsed.apiAddress(server.port()));
            pool.register();
            ScheduledExecutorService idleWatch = parsed.idleExit() == null ? null
                    : watchIdle(new IdleExit(pool, Clock.systemUTC(), parsed.idleExit()), pool.id());
            return new Running(agent, server, pool, dynamo, idleWatch, metrics(parsed, agent, server.port()));
        } catch (RuntimeException e) {
            server.close();
            agent.close();
            dynamo.close();
            throw new IllegalStateException("cannot join the warm pool in table " + parsed.metadataTable() + ": "
                    + e.getMessage(), e);
        }
    }

    /**
     * Runs {@code idleExit} now and every {@link #IDLE_CHECK_PERIOD} on a daemon thread; once the
     * agent has left the pool the process exits with status 0 (the shutdown hook closes the rest),
     * so its standalone task stops.
     */
    private static ScheduledExecutorService watchIdle(IdleExit idleExit, NodeId id) {
        ScheduledExecutorService watch = Executors.newSingleThreadScheduledExecutor(
                r -> Thread.ofPlatform().name("idle-check").daemon().unstarted(r));
        watch.scheduleWithFixedDelay(() -> {
            if (idleExit.check()) {
                log.info("agent={} exits: an on-demand agent that stayed IDLE in the warm pool for {} min "
                        + "(no wake claimed it) and has left the pool", id, idleExit.after().toMinutes());
                watch.shutdown();
                // not on this thread: the shutdown hook's Running.close() waits for this check to end
                Thread.ofPlatform().name("idle-exit").start(() -> System.exit(0));
            }
        }, 0, IDLE_CHECK_PERIOD.toMillis(), TimeUnit.MILLISECONDS);
        return watch;
    }

    private static void usage(String problem) {
        System.err.println("compute-agent: " + problem);
        System.err.println("usage: --data-dir DIR --auth-public-keys FILE --pageserver HOST:PORT --safekeeper ID=URL..."
                + " [--listen HOST] [--port N] [--compute-port N] [--user NAME] [--compute-listen ADDR]"
                + " [--advertise-host HOST] [--client-network CIDR] [--start-timeout-seconds N]"
                + " [--metadata-table NAME [--agent-id ID] [--idle-exit-minutes N]]"
                + " [--metrics-environment NAME [--metrics-interval S]]"
                + " (password in " + PASSWORD_ENV + "; --agent-id, --idle-exit-minutes and --metrics-* also from "
                + ENV_PREFIX + "<OPTION>)");
        System.exit(64);
    }
}
