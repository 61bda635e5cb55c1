package dev.strata.pageserver;

import dev.strata.pageserver.http.PageserverConfig;
import dev.strata.pageserver.http.PageserverServer;
import dev.strata.pageserver.metrics.PageserverGauges;
import dev.strata.pageserver.pageservice.PageServiceLimits;
import dev.strata.remote.Generation;
import dev.strata.remote.RemoteStorageConfig;
import dev.strata.remote.S3Config;
import dev.strata.pgcore.auth.AuthKeys;
import dev.strata.pgcore.auth.TokenVerifier;
import dev.strata.pgcore.metrics.MetricsReporter;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * Runs one pageserver as a process. Arguments (each also as an environment variable
 * {@code STRATA_PAGESERVER_<NAME>}, upper case, dashes as underscores; arguments win):
 *
 * <pre>
 *   --data-dir DIR --auth-public-keys FILE [--listen 127.0.0.1] [--http-port 0] [--pageservice-port 0]
 *   [--pageservice-threads N] [--replication-user strata_replicator]
 *   [--remote-storage-bucket B --generation N [--remote-storage-endpoint http://127.0.0.1:9000]
 *    [--remote-storage-region us-east-1] [--remote-storage-prefix path/] [--layer-cache-budget 16G]]
 *   [--gc-interval 3600] [--metrics-environment NAME [--metrics-interval 60]]
 * </pre>
 *
 * {@code --metrics-environment}: print the ingest lag and the S3 upload backlog every
 * {@code --metrics-interval} seconds as CloudWatch embedded-metric-format lines on stdout, under
 * the dimension {@code Environment=NAME} (the AWS deployment's alarms watch them; off by default,
 * as locally there is no CloudWatch).
 *
 * {@code --gc-interval} (seconds, default 3600; 0: off): how often every timeline runs a GC pass
 * (docs/pageserver.md, "GC and retention"). {@code POST /v1/timelines/{id}/gc} runs one at once.
 *
 * {@code --layer-cache-budget} (bytes, or with a K/M/G suffix; default 16G): local layer files
 * above it are evicted, least recently used first, when S3 holds them, and downloaded again
 * when read (docs/pageserver.md, "Layer cache"). Without remote storage nothing is evicted.
 *
 * {@code --auth-public-keys} is a JWK Set (pgcore {@code AuthKeys}): both listeners accept only
 * callers whose token one of its keys signed (docs/pageserver.md, "Authentication"). It is
 * required; a path, never a key or token on the command line.
 *
 * With a bucket, history goes to S3 as well (decision 0016): every key carries the attach
 * generation N (1 .. 2^32-1), which whoever places the pageserver must raise at each placement.
 * S3 credentials come only from the environment: {@code STRATA_PAGESERVER_S3_ACCESS_KEY} and
 * {@code STRATA_PAGESERVER_S3_SECRET_KEY}, else the AWS SDK's default chain (never arguments,
 * which other users can read in the process list).
 *
 * Every WAL source is created with its own password through the management API; there is no
 * default password (it would go to any host a caller names). Once both ports are bound it prints one line,
 * {@code READY http=<port> pageservice=<port>}. SIGTERM stops it gracefully: ingest stops and
 * every timeline flushes what it holds in memory.
 */
public final class PageserverMain {

    private static final String[] OPTIONS = {"data-dir", "auth-public-keys", "listen", "http-port", "pageservice-port",
        "pageservice-threads", "replication-user", "pageservice-max-connections", "pageservice-max-waiting",
        "pageservice-max-basebackups", "remote-storage-bucket", "remote-storage-endpoint",
        "remote-storage-region", "remote-storage-prefix", "generation", "layer-cache-budget", "gc-interval",
        "metrics-environment", "metrics-interval"};

    private PageserverMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        Map<String, String> opts = new HashMap<>();
        for (String o : OPTIONS) {
            String env = System.getenv("STRATA_PAGESERVER_" + o.toUpperCase().replace('-', '_'));
            if (env != null && !env.isEmpty()) {
                opts.put(o, env);
            }
        }
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--") || i + 1 >= args.length || !java.util.List.of(OPTIONS).contains(a.substring(2))) {
                usage("unexpected argument '" + a + "'");
            }
            opts.put(a.substring(2), args[++i]);
        }
        if (!opts.containsKey("data-dir")) {
            usage("--data-dir is required");
        }
        if (!opts.containsKey("auth-public-keys")) {
            usage("--auth-public-keys is required: the pageserver serves only callers with a service token");
        }
        TokenVerifier verifier = null;
        try {
            verifier = new TokenVerifier(AuthKeys.readPublicKeys(Path.of(opts.get("auth-public-keys"))));
        } catch (IOException e) {
            usage("--auth-public-keys: " + e.getMessage());
        }
        PageserverConfig config = PageserverConfig.local(Path.of(opts.get("data-dir")), verifier);
        try {
            config = new PageserverConfig(config.dataDir(), opts.getOrDefault("listen", PageserverConfig.DEFAULT_HOST),
                    port(opts, "http-port"), port(opts, "pageservice-port"),
                    opts.containsKey("pageservice-threads") ? Integer.parseInt(opts.get("pageservice-threads"))
                            : config.pageServiceThreads(),
                    opts.getOrDefault("replication-user", PageserverConfig.DEFAULT_REPLICATION_USER),
                    opts.containsKey("layer-cache-budget")
                            ? config.storage().withLayerCacheBudgetBytes(bytes(opts.get("layer-cache-budget")))
                            : config.storage(), config.timelineOptions(), verifier);
        } catch (IllegalArgumentException e) {
            usage(e.getMessage());
        }
        PageServiceLimits limits = PageServiceLimits.defaults();
        RemoteStorageConfig remote = null;
        try {
            limits = new PageServiceLimits(
                    count(opts, "pageservice-max-connections", limits.maxConnections()),
                    count(opts, "pageservice-max-waiting", limits.maxWaiting()),
                    count(opts, "pageservice-max-basebackups", limits.maxBasebackups()));
            remote = remoteStorage(opts);
        } catch (IllegalArgumentException e) {
            usage(e.getMessage());
        }
        long gcSeconds = 3600;
        try {
            gcSeconds = opts.containsKey("gc-interval") ? Long.parseLong(opts.get("gc-interval")) : gcSeconds;
        } catch (NumberFormatException e) {
            usage("--gc-interval must be a number of seconds, got '" + opts.get("gc-interval") + "'");
        }
        if (gcSeconds < 0) {
            usage("--gc-interval must be >= 0 seconds (0: off), got " + gcSeconds);
        }
        java.time.Duration metricsInterval = null;
        try {
            metricsInterval = metricsInterval(opts);
        } catch (IllegalArgumentException e) {
            usage(e.getMessage());
        }
        PageserverServer server = PageserverServer.start(config, remote, limits);
        if (gcSeconds > 0) {
            server.node().timelines().startGc(java.time.Duration.ofSeconds(gcSeconds));
        }
        MetricsReporter metrics = metricsInterval == null ? null
                : MetricsReporter.start(opts.get("metrics-environment"), metricsInterval,
                        () -> PageserverGauges.read(server.node().timelines()), System.out, Clock.systemUTC());
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (metrics != null) {
                metrics.close();
            }
            server.close();
            stop.countDown();
        }));
        System.out.println("READY http=" + server.httpPort() + " pageservice=" + server.pageServicePort());
        System.out.flush();
        stop.await();
    }

    /** How often to print metrics, or null when no {@code --metrics-environment} is given (off). */
    static java.time.Duration metricsInterval(Map<String, String> opts) {
        String env = opts.get("metrics-environment");
        String interval = opts.get("metrics-interval");
        if (env == null) {
            if (interval != null) {
                throw new IllegalArgumentException("--metrics-interval needs --metrics-environment");
            }
            return null;
        }
        if (env.isBlank() || env.length() > 1024) {
            throw new IllegalArgumentException("--metrics-environment must be a name of 1 to 1024 characters");
        }
        long seconds;
        try {
            seconds = interval == null ? 60 : Long.parseLong(interval);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--metrics-interval must be a number of seconds, got '" + interval + "'");
        }
        if (seconds < 1 || seconds > 86_400) {
            throw new IllegalArgumentException("--metrics-interval must be 1 to 86400 seconds, got " + seconds);
        }
        return java.time.Duration.ofSeconds(seconds);
    }

    /** The remote storage options, or null without a bucket. */
    static RemoteStorageConfig remoteStorage(Map<String, String> opts) {
        String bucket = opts.get("remote-storage-bucket");
        if (bucket == null) {
            for (String o : opts.keySet()) {
                if (o.startsWith("remote-storage-") || o.equals("generation")) {
                    throw new IllegalArgumentException("--" + o + " needs --remote-storage-bucket");
                }
            }
            return null;
        }
        if (!opts.containsKey("generation")) {
            throw new IllegalArgumentException("--remote-storage-bucket needs --generation (this pageserver's attach generation)");
        }
        Generation generation;
        try {
            generation = Generation.of(Long.parseLong(opts.get("generation")));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--generation must be a number, got '" + opts.get("generation") + "'");
        }
        String endpoint = opts.get("remote-storage-endpoint");
        S3Config s3 = new S3Config(endpoint == null ? null : URI.create(endpoint),
                opts.getOrDefault("remote-storage-region", "us-east-1"), bucket, opts.getOrDefault("remote-storage-prefix", ""),
                System.getenv("STRATA_PAGESERVER_S3_ACCESS_KEY"), System.getenv("STRATA_PAGESERVER_S3_SECRET_KEY"), null);
        return new RemoteStorageConfig(s3, generation, null);
    }

    /** A byte count: digits with an optional K, M or G suffix (powers of 1024). */
    static long bytes(String text) {
        String t = text.trim().toUpperCase();
        long unit = 1;
        if (t.endsWith("K") || t.endsWith("M") || t.endsWith("G")) {
            unit = switch (t.charAt(t.length() - 1)) {
                case 'K' -> 1L << 10;
                case 'M' -> 1L << 20;
                default -> 1L << 30;
            };
            t = t.substring(0, t.length() - 1);
        }
        long n;
        try {
            n = Long.parseLong(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--layer-cache-budget must be a byte count like 512M or 16G, got '" + text + "'");
        }
        if (n <= 0 || n > Long.MAX_VALUE / unit) {
            throw new IllegalArgumentException("--layer-cache-budget must be positive and below 8 EiB, got '" + text + "'");
        }
        return n * unit;
    }

    private static int port(Map<String, String> opts, String name) {
        String v = opts.getOrDefault(name, "0");
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " must be a port number, got '" + v + "'");
        }
    }

    private static int count(Map<String, String> opts, String name, int dflt) {
        String v = opts.get(name);
        try {
            return v == null ? dflt : Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " must be a number, got '" + v + "'");
        }
    }

    private static void usage(String problem) {
        System.err.println("pageserver: " + problem);
        System.err.println("usage: --data-dir DIR --auth-public-keys FILE [--listen HOST] [--http-port N] [--pageservice-port N]"
                + " [--pageservice-threads N] [--replication-user NAME] [--pageservice-max-connections N]"
                + " [--pageservice-max-waiting N] [--pageservice-max-basebackups N]"
                + " [--remote-storage-bucket B --generation N [--remote-storage-endpoint URL] [--remote-storage-region R]"
                + " [--remote-storage-prefix P/] [--layer-cache-budget 16G]] [--gc-interval 3600]");
        System.exit(64);
    }
}
