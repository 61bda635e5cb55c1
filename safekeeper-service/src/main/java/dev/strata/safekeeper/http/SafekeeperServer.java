package dev.strata.safekeeper.http;

import dev.strata.safekeeper.node.SafekeeperConfig;
import dev.strata.safekeeper.node.SafekeeperLimits;
import dev.strata.safekeeper.node.SafekeeperNode;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.URI;
import java.util.Map;

/**
 * A running safekeeper: the {@link SafekeeperNode} plus its management API on Micronaut's
 * Netty server. Many can run in one JVM (the local cluster, tests): each has its own
 * application context and ports.
 */
public final class SafekeeperServer implements AutoCloseable {

    private final SafekeeperNode node;
    private final ApplicationContext context;
    private final EmbeddedServer http;

    private SafekeeperServer(SafekeeperNode node, ApplicationContext context) {
        this.node = node;
        this.context = context;
        this.http = context.getBean(EmbeddedServer.class);
    }

    public static SafekeeperServer start(SafekeeperConfig config) {
        return start(config, SafekeeperLimits.defaults());
    }

    /** As above with other limits on what clients can make it hold. */
    public static SafekeeperServer start(SafekeeperConfig config, SafekeeperLimits limits) {
        SafekeeperNode node = new SafekeeperNode(config, limits);
        try {
            for (int attempt = 1; ; attempt++) {
                ApplicationContext ctx = startHttp(config, node);
                SafekeeperServer s = new SafekeeperServer(node, ctx);
                try {
                    s.http.start();
                    // Position datagrams use the same port number over UDP (decision 0006).
                    node.startPositionGossip(s.http.getPort());
                    return s;
                } catch (RuntimeException e) {
                    ctx.close();
                    if (config.httpPort() != 0 || attempt == 5 || !(e instanceof java.io.UncheckedIOException)) {
                        throw e;
                    }
                    // Any free TCP port was asked for, and its number is taken for UDP: take another.
                }
            }
        } catch (RuntimeException e) {
            node.close();
            throw e;
        }
    }

    private static ApplicationContext startHttp(SafekeeperConfig config, SafekeeperNode node) {
        return ApplicationContext.builder()
                .properties(Map.of(
                        "micronaut.application.name", "safekeeper-" + config.nodeId(),
                        "micronaut.server.host", config.listenHost(),
                        "micronaut.server.port", config.httpPort() == 0 ? -1 : config.httpPort(),
                        "micronaut.server.max-request-size", 1024 * 1024,
                        "micronaut.banner.enabled", false,
                        // Only this service's beans: the local cluster runs several services in one JVM.
                        "strata.service", "safekeeper"))
                .singletons(node)
                .deduceEnvironment(false)
                .start();
    }

    /** The Micronaut context (tests walk its router). */
    ApplicationContext context() {
        return context;
    }

    public SafekeeperNode node() {
        return node;
    }

    /** Base URL of the management API, e.g. {@code http://127.0.0.1:41234}. */
    public URI url() {
        return URI.create("http://" + http.getHost() + ":" + http.getPort());
    }

    public int walsenderPort() {
        return node.walsenderPort();
    }

    @Override
    public void close() {
        try {
            context.close();
        } finally {
            node.close();
        }
    }
}
