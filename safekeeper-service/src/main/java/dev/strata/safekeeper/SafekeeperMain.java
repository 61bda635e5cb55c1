package dev.strata.safekeeper;

import dev.strata.pgcore.auth.AuthKeys;
import dev.strata.pgcore.auth.TokenVerifier;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.metrics.MetricNames;
import dev.strata.pgcore.metrics.MetricsOptions;
import dev.strata.pgcore.metrics.MetricsReporter;
import dev.strata.remote.S3Config;
import dev.strata.safekeeper.metrics.SafekeeperGauges;
import dev.strata.safekeeper.http.SafekeeperServer;
import dev.strata.safekeeper.node.SafekeeperConfig;
import dev.strata.safekeeper.node.SafekeeperLimits;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * Runs one safekeeper as a process (an ECS task, or a child process in tests and the local
 * cluster). Arguments:
 *
 * <pre>
 *   --node-id sk-1 --data-dir DIR --auth-public-keys FILE --token-file FILE
 *   [--listen 127.0.0.1] [--http-port 0] [--walsender-port 0] [--peer sk-2=http://127.0.0.1:7677 ...]
 *   [--remote-storage-bucket B [--remote-storage-endpoint http://127.0.0.1:9000]
 *    [--remote-storage-region us-east-1] [--remote-storage-prefix path/]]
 *   [--metrics-environment NAME [--metrics-interval 60]]
 * </pre>
 *
 * {@code --metrics-environment} (or {@code STRATA_SAFEKEEPER_METRICS_ENVIRONMENT}; likewise
 * {@code STRATA_SAFEKEEPER_METRICS_INTERVAL}; arguments win): print this node's gauges
 * ({@link SafekeeperGauges}) every {@code --metrics-interval} seconds as CloudWatch
 * embedded-metric-format lines on stdout, under the dimensions {@code Environment=NAME} and
 * {@code Node=<node id>} (docs/safekeeper.md, "Metrics"; off by default).
 *
 * With {@code --remote-storage-bucket} the safekeeper offloads WAL to S3 (docs/safekeeper.md,
 * "WAL offload"). S3 credentials come only from the environment, as the pageserver's:
 * {@code STRATA_SAFEKEEPER_S3_ACCESS_KEY} and {@code STRATA_SAFEKEEPER_S3_SECRET_KEY}, else the
 * AWS SDK's default chain (never arguments, which other users can read).
 *
 * {@code --auth-public-keys} is the JWK Set whose keys sign the tokens the management API
 * accepts; {@code --token-file} holds this node's own {@code safekeeperdata} token (mode 600),
 * presented to peers during recovery (docs/safekeeper.md, "Authentication"). Both are required
 * and both are paths: no key or token is ever on the command line.
 *
 * The walsender password comes from {@code STRATA_REPLICATION_PASSWORD} (never the command
 * line, which other users can read). Once both ports are bound it prints one line,
 * {@code READY http=<port> walsender=<port>}, on standard output.
 */
public final class SafekeeperMain {

    private SafekeeperMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        Map<String, String> opts = new HashMap<>();
        Map<NodeId, URI> peers = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--") || i + 1 >= args.length) {
                usage("unexpected argument '" + a + "'");
            }
            String v = args[++i];
            if (a.equals("--peer")) {
                int eq = v.indexOf('=');
                if (eq <= 0) {
                    usage("--peer takes ID=URL, got '" + v + "'");
                }
                peers.put(NodeId.of(v.substring(0, eq)), URI.create(v.substring(eq + 1)));
            } else {
                opts.put(a.substring(2), v);
            }
        }
        String password = System.getenv("STRATA_REPLICATION_PASSWORD");
        if (password == null || password.isEmpty()) {
            usage("set STRATA_REPLICATION_PASSWORD: the walsender never runs without a password");
        }
        if (!opts.containsKey("node-id") || !opts.containsKey("data-dir")) {
            usage("--node-id and --data-dir are required");
        }
        if (!opts.containsKey("auth-public-keys") || !opts.containsKey("token-file")) {
            usage("--auth-public-keys and --token-file are required: the management API serves only callers with a"
                    + " service token, and peers ask for this node's");
        }
        TokenVerifier verifier = null;
        String token = null;
        try {
            verifier = new TokenVerifier(AuthKeys.readPublicKeys(Path.of(opts.get("auth-public-keys"))));
        } catch (IOException | IllegalArgumentException e) {
            usage("--auth-public-keys: " + e.getMessage());
        }
        try {
            token = AuthKeys.readToken(Path.of(opts.get("token-file")));
        } catch (IOException e) {
            usage("--token-file: " + e.getMessage());
        }
        Duration metricsInterval = null;
        try {
            metricsInterval = metricsInterval(opts, System.getenv());
        } catch (IllegalArgumentException e) {
            usage(e.getMessage());
        }
        S3Config remote = null;
        try {
            remote = remoteStorage(opts);
        } catch (IllegalArgumentException e) {
            usage(e.getMessage());
        }
        SafekeeperConfig config = new SafekeeperConfig(
                NodeId.of(opts.get("node-id")),
                Path.of(opts.get("data-dir")),
                opts.getOrDefault("listen", "127.0.0.1"),
                Integer.parseInt(opts.getOrDefault("walsender-port", "0")),
                Integer.parseInt(opts.getOrDefault("http-port", "0")),
                peers,
                opts.getOrDefault("replication-user", "strata_replicator"),
                password,
                Duration.ofMillis(100),
                verifier,
                token,
                remote);
        SafekeeperLimits limits = SafekeeperLimits.defaults()
                .withWalsenderMaxConnections(Integer.parseInt(opts.getOrDefault("walsender-max-connections",
                        String.valueOf(SafekeeperLimits.DEFAULT_WALSENDER_MAX_CONNECTIONS))))
                .withWalReadConcurrency(Integer.parseInt(opts.getOrDefault("wal-read-concurrency",
                        String.valueOf(SafekeeperLimits.DEFAULT_WAL_READ_CONCURRENCY))));
        SafekeeperServer server = SafekeeperServer.start(config, limits);
        MetricsReporter metrics = null;
        if (metricsInterval != null) {
            SafekeeperGauges gauges = new SafekeeperGauges(server.node(), config.dataDir());
            metrics = MetricsReporter.start(opts.get("metrics-environment"),
                    Map.of(MetricNames.NODE, config.nodeId().toString()), metricsInterval, gauges::read, System.out,
                    Clock.systemUTC());
        }
        MetricsReporter reporter = metrics;
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (reporter != null) {
                reporter.close();
            }
            server.close();
            stop.countDown();
        }));
        System.out.println("READY http=" + server.url().getPort() + " walsender=" + server.walsenderPort());
        System.out.flush();
        stop.await();
    }

    /**
     * How often to print metrics, or null when metrics are off. Fills {@code opts} from
     * {@code STRATA_SAFEKEEPER_METRICS_ENVIRONMENT} / {@code _INTERVAL} in {@code env} where the
     * command line did not give them.
     *
     * @throws IllegalArgumentException naming the option and the bad value
     */
    static Duration metricsInterval(Map<String, String> opts, Map<String, String> env) {
        for (String o : new String[] {"metrics-environment", "metrics-interval"}) {
            String v = env.get("STRATA_SAFEKEEPER_" + o.toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
            if (v != null && !v.isEmpty()) {
                opts.putIfAbsent(o, v);
            }
        }
        return MetricsOptions.interval(opts.get("metrics-environment"), opts.get("metrics-interval"));
    }

    /** The {@code --remote-storage-*} options, or null without a bucket (no offload). */
    static S3Config remoteStorage(Map<String, String> opts) {
        String bucket = opts.get("remote-storage-bucket");
        if (bucket == null) {
            for (String o : opts.keySet()) {
                if (o.startsWith("remote-storage-")) {
                    throw new IllegalArgumentException("--" + o + " needs --remote-storage-bucket");
                }
            }
            return null;
        }
        String endpoint = opts.get("remote-storage-endpoint");
        return new S3Config(endpoint == null ? null : URI.create(endpoint),
                opts.getOrDefault("remote-storage-region", "us-east-1"), bucket,
                opts.getOrDefault("remote-storage-prefix", ""),
                System.getenv("STRATA_SAFEKEEPER_S3_ACCESS_KEY"), System.getenv("STRATA_SAFEKEEPER_S3_SECRET_KEY"), null);
    }

    private static void usage(String problem) {
        System.err.println("safekeeper: " + problem);
        System.err.println("usage: --node-id ID --data-dir DIR --auth-public-keys FILE --token-file FILE [--listen HOST]"
                + " [--http-port N] [--walsender-port N] [--peer ID=URL]..."
                + " [--walsender-max-connections N] [--wal-read-concurrency N]"
                + " [--remote-storage-bucket B [--remote-storage-endpoint URL] [--remote-storage-region R]"
                + " [--remote-storage-prefix P/]] [--metrics-environment NAME [--metrics-interval S]]");
        System.exit(64);
    }
}
