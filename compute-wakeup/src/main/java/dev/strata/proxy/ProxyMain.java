package dev.strata.proxy;

import dev.strata.pgcore.auth.AuthKeys;
import dev.strata.pgcore.auth.TokenVerifier;
import dev.strata.proxy.http.StatusHttpServer;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.proxy.wake.ComputeAddress;
import dev.strata.proxy.wake.StaticComputeControl;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * Runs the proxy in front of computes at fixed addresses (no wake or suspend: see
 * {@link StaticComputeControl}); the local cluster will start the proxy in-process with its
 * own control instead.
 *
 * <pre>ProxyMain [--port 55432] [--tls-dir DIR [--require-tls]] [--status-port PORT --auth-public-keys FILE]
 *           [--max-connections 1000] [--max-startup-pending 100] [--max-authenticating 200]
 *           --endpoint ID=HOST:PORT ...</pre>
 *
 * The status port answers only callers with an {@code admin} token signed by a key of the
 * JWK Set in {@code --auth-public-keys} (docs/architecture.md §8).
 */
public final class ProxyMain {

    private ProxyMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        ProxyConfig config = ProxyConfig.defaults();
        Map<EndpointId, ComputeAddress> endpoints = new LinkedHashMap<>();
        int statusPort = -1;
        Path publicKeys = null;
        boolean requireTls = false;
        ClientLimits limits = ClientLimits.defaults();
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--port" -> config = config.withPort(Integer.parseInt(require(value, args[i])));
                case "--tls-dir" -> config = config.withTlsDirectory(Path.of(require(value, args[i])));
                case "--require-tls" -> {
                    requireTls = true;
                    i--; // a flag without a value
                }
                case "--max-connections" -> config = config.withMaxConnections(Integer.parseInt(require(value, args[i])));
                case "--max-startup-pending" -> limits = new ClientLimits(Integer.parseInt(require(value, args[i])),
                        limits.maxAuthenticating());
                case "--max-authenticating" -> limits = new ClientLimits(limits.maxStartupPending(),
                        Integer.parseInt(require(value, args[i])));
                case "--status-port" -> statusPort = Integer.parseInt(require(value, args[i]));
                case "--auth-public-keys" -> publicKeys = Path.of(require(value, args[i]));
                case "--endpoint" -> {
                    String v = require(value, args[i]);
                    int eq = v.indexOf('=');
                    int colon = v.lastIndexOf(':');
                    if (eq < 1 || colon < eq) {
                        usage("--endpoint wants ID=HOST:PORT, got " + v);
                    }
                    endpoints.put(EndpointId.of(v.substring(0, eq)),
                            new ComputeAddress(v.substring(eq + 1, colon), Integer.parseInt(v.substring(colon + 1))));
                }
                default -> usage("unknown argument " + args[i]);
            }
            i++;
        }
        if (endpoints.isEmpty()) {
            usage("at least one --endpoint ID=HOST:PORT");
        }
        if (requireTls) {
            if (config.tlsDirectory() == null) {
                usage("--require-tls needs --tls-dir");
            }
            config = config.withRequireTls(true);
        }
        TokenVerifier verifier = null;
        if (statusPort >= 0) {
            if (publicKeys == null) {
                usage("--status-port needs --auth-public-keys FILE: the status port answers only operators");
            }
            try {
                verifier = new TokenVerifier(AuthKeys.readPublicKeys(publicKeys));
            } catch (IOException e) {
                usage("--auth-public-keys: " + e.getMessage());
            }
        }
        ProxyServer proxy = ProxyServer.start(config, new StaticComputeControl(endpoints), limits);
        StatusHttpServer status = statusPort >= 0 ? StatusHttpServer.start(proxy, config.host(), statusPort, verifier)
                : null;
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (status != null) {
                status.close();
            }
            proxy.close();
            stop.countDown();
        }, "strata-proxy-shutdown"));
        for (EndpointId id : endpoints.keySet()) {
            System.out.println("psql \"host=" + config.host() + " port=" + proxy.port() + " options=endpoint=" + id + "\"");
            if (proxy.certificates() != null) {
                System.out.println("psql \"host=" + id + ".localhost hostaddr=" + config.host() + " port=" + proxy.port()
                        + " sslmode=verify-full sslrootcert=" + proxy.certificates().caCertificate() + "\"");
            }
        }
        if (status != null) {
            System.out.println("status: http://" + config.host() + ":" + status.port() + "/status");
        }
        stop.await();
    }

    private static String require(String value, String option) {
        if (value == null) {
            usage(option + " needs a value");
        }
        return value;
    }

    private static void usage(String problem) {
        System.err.println("strata proxy: " + problem);
        System.err.println("usage: ProxyMain [--port 55432] [--tls-dir DIR [--require-tls]] [--status-port PORT --auth-public-keys FILE]"
                + " [--max-connections 1000] [--max-startup-pending 100] [--max-authenticating 200] --endpoint ID=HOST:PORT ...");
        System.exit(2);
    }
}
