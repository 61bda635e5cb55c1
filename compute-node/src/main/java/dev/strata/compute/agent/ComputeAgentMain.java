package dev.strata.compute.agent;

import dev.strata.compute.config.ComputeNetwork;
import dev.strata.pgcore.auth.AuthKeys;
import dev.strata.pgcore.auth.TokenVerifier;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.postgres.PostgresBinaries;
import dev.strata.safekeeper.election.Proposer;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/**
 * Runs a compute agent as a process (a task of the warm compute pool on AWS, or a child process).
 * Arguments:
 *
 * <pre>
 *   --data-dir DIR --auth-public-keys FILE --pageserver HOST:PORT --safekeeper ID=URL [--safekeeper ID=URL ...]
 *   [--listen 127.0.0.1] [--port 3080] [--compute-port 0] [--user postgres]
 *   [--compute-listen 127.0.0.1] [--advertise-host HOST] [--client-network CIDR] [--start-timeout-seconds 60]
 * </pre>
 *
 * {@code --listen}/{@code --port}: the agent API. {@code --auth-public-keys}: the JWK Set whose
 * keys sign the {@code agentapi} tokens the API accepts (the control plane's). The agent holds no
 * token of its own: each start order carries the compute token of its timeline. The database
 * superuser's password comes from {@code STRATA_COMPUTE_PASSWORD} (never the command line, which
 * other users can read). {@code --compute-listen 0.0.0.0 --advertise-host <task address>
 * --client-network <VPC CIDR>} make the compute reachable by the proxy and the safekeepers over
 * the VPC ({@link ComputeNetwork}). Once the API listens it prints {@code READY http=<port>}.
 */
public final class ComputeAgentMain {

    /** The superuser's password, from the environment only. */
    public static final String PASSWORD_ENV = "STRATA_COMPUTE_PASSWORD";

    private static final Set<String> OPTIONS = Set.of("data-dir", "auth-public-keys", "pageserver", "listen", "port",
            "compute-port", "user", "compute-listen", "advertise-host", "client-network", "start-timeout-seconds");

    private ComputeAgentMain() {
    }

    /** What the arguments and environment say; {@link IllegalArgumentException} with the problem otherwise. */
    record Parsed(ComputeAgent.Config config, Path publicKeys, String listen, int port) {
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
        return new Parsed(config, Path.of(opts.get("auth-public-keys")), opts.getOrDefault("listen", "127.0.0.1"),
                port("port", opts.getOrDefault("port", "3080"), true));
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
        ComputeAgent agent = new ComputeAgent(parsed.config(), PostgresBinaries.resolve());
        AgentServer server;
        try {
            server = AgentServer.start(agent, verifier, parsed.listen(), parsed.port());
        } catch (IOException e) {
            usage("cannot listen on " + parsed.listen() + ":" + parsed.port() + ": " + e.getMessage());
            return;
        }
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            agent.close(); // fast shutdown of Postgres: every acknowledged commit is on the safekeepers
            stop.countDown();
        }));
        System.out.println("READY http=" + server.port());
        System.out.flush();
        stop.await();
    }

    private static void usage(String problem) {
        System.err.println("compute-agent: " + problem);
        System.err.println("usage: --data-dir DIR --auth-public-keys FILE --pageserver HOST:PORT --safekeeper ID=URL..."
                + " [--listen HOST] [--port N] [--compute-port N] [--user NAME] [--compute-listen ADDR]"
                + " [--advertise-host HOST] [--client-network CIDR] [--start-timeout-seconds N]"
                + " (password in " + PASSWORD_ENV + ")");
        System.exit(64);
    }
}
