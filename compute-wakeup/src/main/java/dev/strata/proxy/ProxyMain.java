package dev.strata.proxy;

import dev.strata.pgcore.auth.AuthKeys;
import dev.strata.pgcore.auth.TokenVerifier;
import dev.strata.proxy.http.StatusHttpServer;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.proxy.wake.ComputeAddress;
import dev.strata.proxy.wake.ComputeControl;
import dev.strata.proxy.wake.StaticComputeControl;
import dev.strata.proxy.wake.WakePolicy;

import dev.strata.pgcore.metrics.MetricsOptions;
import dev.strata.pgcore.metrics.MetricsReporter;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * Runs the proxy in front of computes at fixed addresses (no wake or suspend: see
 * {@link StaticComputeControl}); the local cluster will start the proxy in-process with its
 * own control instead.
 *
 * <pre>ProxyMain [--listen 127.0.0.1] [--port 55432] [--tls-dir DIR [--require-tls]]
 *           [--status-port PORT --auth-public-keys FILE]
 *           [--max-connections 1000] [--max-startup-pending 100] [--max-authenticating 200]
 *           [--wake-timeout-seconds 30]
 *           [--metrics-environment NAME [--metrics-interval 60]]
 *           --endpoint ID=HOST:PORT ...</pre>
 *
 * {@code --metrics-environment} (or {@code STRATA_PROXY_METRICS_ENVIRONMENT}; likewise
 * {@code STRATA_PROXY_METRICS_INTERVAL}; arguments win): print the proxy's metrics
 * ({@link ProxyServer#metrics()}) every {@code --metrics-interval} seconds as CloudWatch
 * embedded-metric-format lines on stdout, under the dimension {@code Environment=NAME}
 * (docs/proxy.md, "Metrics"; off by default).
 *
 * {@code --listen} is the client listener's address (an IP literal; {@code 0.0.0.0} in an ECS
 * task, behind the load balancer). The status port always listens on loopback: it is for
 * {@code strata status} on the same host or task, and answers only callers with an
 * {@code admin} token signed by a key of the JWK Set in {@code --auth-public-keys}
 * (docs/architecture.md §8).
 */
public final class ProxyMain {

    /** Where the status HTTP listens, whatever {@code --listen} says. */
    static final String STATUS_HOST = "127.0.0.1";

    private ProxyMain() {
    }

    /**
     * The command line, parsed and checked.
     *
     * @param statusPort -1: no status port
     * @param publicKeys null without a status port
     * @param metricsEnvironment null: no metrics
     * @param metricsInterval null: no metrics
     */
    public record Options(ProxyConfig config, ClientLimits limits, Map<EndpointId, ComputeAddress> endpoints, int statusPort,
                   Path publicKeys, String metricsEnvironment, Duration metricsInterval) {
    }

    public static void main(String[] args) throws InterruptedException {
        Options options;
        try {
            options = parse(args, System.getenv());
        } catch (IllegalArgumentException e) {
            usage(e.getMessage());
            return;
        }
        Running running;
        try {
            running = start(options, new StaticComputeControl(options.endpoints()));
        } catch (IllegalArgumentException e) {
            usage(e.getMessage());
            return;
        }
        for (EndpointId id : options.endpoints().keySet()) {
            System.out.println("psql \"host=" + options.config().host() + " port=" + running.proxy().port()
                    + " options=endpoint=" + id + "\"");
            if (running.proxy().certificates() != null) {
                System.out.println("psql \"host=" + id + ".localhost hostaddr=" + options.config().host() + " port="
                        + running.proxy().port() + " sslmode=verify-full sslrootcert="
                        + running.proxy().certificates().caCertificate() + "\"");
            }
        }
        running.awaitShutdown();
    }

    /**
     * A started proxy with its optional status port and metrics reporter; {@link #close} stops all
     * three (metrics first, the proxy last).
     */
    public record Running(ProxyServer proxy, StatusHttpServer status, MetricsReporter metrics) implements AutoCloseable {

        /**
         * Prints where the status port listens, stops everything on JVM shutdown (SIGTERM from ECS
         * included; {@code onStop} runs after the proxy is closed, e.g. to close the control plane's
         * clients) and blocks until then.
         */
        public void awaitShutdown(Runnable onStop) throws InterruptedException {
            CountDownLatch stop = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                close();
                onStop.run();
                stop.countDown();
            }, "strata-proxy-shutdown"));
            if (status != null) {
                System.out.println("status: http://" + STATUS_HOST + ":" + status.port() + "/status");
            }
            stop.await();
        }

        public void awaitShutdown() throws InterruptedException {
            awaitShutdown(() -> { });
        }

        @Override
        public void close() {
            if (metrics != null) {
                metrics.close();
            }
            if (status != null) {
                status.close();
            }
            proxy.close();
        }
    }

    /**
     * Starts the proxy the options describe in front of {@code control} (the static endpoints of
     * {@link #main}, or the control plane's wake on AWS).
     *
     * @throws IllegalArgumentException if the status port's public keys cannot be read
     */
    public static Running start(Options options, ComputeControl control) {
        TokenVerifier verifier = null;
        if (options.statusPort() >= 0) {
            try {
                verifier = new TokenVerifier(AuthKeys.readPublicKeys(options.publicKeys()));
            } catch (IOException e) {
                throw new IllegalArgumentException("--auth-public-keys: " + e.getMessage(), e);
            }
        }
        ProxyServer proxy = ProxyServer.start(options.config(), control, options.limits());
        StatusHttpServer status = null;
        try {
            status = options.statusPort() >= 0
                    ? StatusHttpServer.start(proxy, STATUS_HOST, options.statusPort(), verifier) : null;
        } catch (RuntimeException e) {
            proxy.close();
            throw e;
        }
        MetricsReporter metrics = options.metricsInterval() == null ? null
                : MetricsReporter.start(options.metricsEnvironment(), options.metricsInterval(), proxy::metrics,
                        System.out, Clock.systemUTC());
        return new Running(proxy, status, metrics);
    }

    /**
     * Parses the command line; reads no file and binds nothing.
     *
     * @throws IllegalArgumentException with a message for the user (unknown option, bad value)
     */
    static Options parse(String[] args) {
        return parse(args, Map.of());
    }

    /**
     * As {@link #parse(String[])}, with {@code STRATA_PROXY_METRICS_ENVIRONMENT} and
     * {@code STRATA_PROXY_METRICS_INTERVAL} from {@code env} where the arguments do not say.
     */
    static Options parse(String[] args, Map<String, String> env) {
        return parse(args, env, true);
    }

    /**
     * As {@link #parse(String[], Map)}; {@code endpointsRequired} false for a proxy whose endpoints
     * come from a control plane ({@code --endpoint} is then refused: one source of truth).
     */
    public static Options parse(String[] args, Map<String, String> env, boolean endpointsRequired) {
        String metricsEnvironment = nonEmpty(env.get("STRATA_PROXY_METRICS_ENVIRONMENT"));
        String metricsInterval = nonEmpty(env.get("STRATA_PROXY_METRICS_INTERVAL"));
        ProxyConfig config = ProxyConfig.defaults();
        Map<EndpointId, ComputeAddress> endpoints = new LinkedHashMap<>();
        int statusPort = -1;
        Path publicKeys = null;
        boolean requireTls = false;
        ClientLimits limits = ClientLimits.defaults();
        for (int i = 0; i < args.length; i++) {
            String option = args[i];
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (option) {
                case "--listen" -> {
                    String host = require(value, option);
                    try {
                        config = config.withHost(ProxyConfig.requireIpLiteral(host));
                    } catch (IllegalArgumentException e) {
                        throw new IllegalArgumentException("--listen: " + e.getMessage(), e);
                    }
                }
                case "--port" -> config = config.withPort(integer(value, option));
                case "--tls-dir" -> config = config.withTlsDirectory(Path.of(require(value, option)));
                case "--require-tls" -> {
                    requireTls = true;
                    i--; // a flag without a value
                }
                case "--max-connections" -> config = config.withMaxConnections(integer(value, option));
                case "--wake-timeout-seconds" -> {
                    int seconds = integer(value, option);
                    if (seconds < 1 || seconds > 600) {
                        throw new IllegalArgumentException("--wake-timeout-seconds must be 1..600, got " + seconds);
                    }
                    WakePolicy w = config.wake();
                    config = config.withWake(new WakePolicy(Duration.ofSeconds(seconds), w.baseDelay(), w.factor(),
                            w.maxDelay()));
                }
                case "--max-startup-pending" -> limits = new ClientLimits(integer(value, option),
                        limits.maxAuthenticating());
                case "--max-authenticating" -> limits = new ClientLimits(limits.maxStartupPending(),
                        integer(value, option));
                case "--status-port" -> statusPort = integer(value, option);
                case "--auth-public-keys" -> publicKeys = Path.of(require(value, option));
                case "--metrics-environment" -> metricsEnvironment = require(value, option);
                case "--metrics-interval" -> metricsInterval = require(value, option);
                case "--endpoint" -> {
                    String v = require(value, option);
                    int eq = v.indexOf('=');
                    int colon = v.lastIndexOf(':');
                    if (eq < 1 || colon < eq) {
                        throw new IllegalArgumentException("--endpoint wants ID=HOST:PORT, got " + v);
                    }
                    endpoints.put(EndpointId.of(v.substring(0, eq)),
                            new ComputeAddress(v.substring(eq + 1, colon), integer(v.substring(colon + 1), option)));
                }
                default -> throw new IllegalArgumentException("unknown argument " + option);
            }
            i++;
        }
        if (endpointsRequired && endpoints.isEmpty()) {
            throw new IllegalArgumentException("at least one --endpoint ID=HOST:PORT");
        }
        if (!endpointsRequired && !endpoints.isEmpty()) {
            throw new IllegalArgumentException("--endpoint is for a proxy without a control plane: the control plane "
                    + "says where each endpoint's compute runs");
        }
        if (requireTls) {
            if (config.tlsDirectory() == null) {
                throw new IllegalArgumentException("--require-tls needs --tls-dir");
            }
            config = config.withRequireTls(true);
        }
        if (statusPort >= 0 && publicKeys == null) {
            throw new IllegalArgumentException(
                    "--status-port needs --auth-public-keys FILE: the status port answers only operators");
        }
        Duration interval = MetricsOptions.interval(metricsEnvironment, metricsInterval);
        return new Options(config, limits, Collections.unmodifiableMap(endpoints), statusPort, publicKeys,
                metricsEnvironment, interval);
    }

    private static String nonEmpty(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    private static String require(String value, String option) {
        if (value == null) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return value;
    }

    private static int integer(String value, String option) {
        String v = require(value, option);
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " wants a number, got '" + v + "'", e);
        }
    }

    private static void usage(String problem) {
        System.err.println("strata proxy: " + problem);
        System.err.println("usage: ProxyMain [--listen 127.0.0.1] [--port 55432] [--tls-dir DIR [--require-tls]] [--status-port PORT --auth-public-keys FILE]"
                + " [--max-connections 1000] [--max-startup-pending 100] [--max-authenticating 200] [--wake-timeout-seconds 30] [--metrics-environment NAME [--metrics-interval S]] --endpoint ID=HOST:PORT ...");
        System.exit(2);
    }
}
