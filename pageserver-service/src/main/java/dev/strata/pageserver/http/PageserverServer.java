package dev.strata.pageserver.http;

import dev.strata.pageserver.pageservice.PageServiceLimits;
import dev.strata.remote.RemoteStorageConfig;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.URI;
import java.util.Map;

/**
 * A running pageserver: the {@link PageserverNode} plus its management API on Micronaut's Netty
 * server. Several can run in one JVM (tests): each has its own context and ports.
 */
public final class PageserverServer implements AutoCloseable {

    /** Largest HTTP request body accepted. */
    public static final int MAX_REQUEST_BYTES = 64 * 1024;

    private final PageserverNode node;
    private final ApplicationContext context;
    private final EmbeddedServer http;

    private PageserverServer(PageserverNode node, ApplicationContext context) {
        this.node = node;
        this.context = context;
        this.http = context.getBean(EmbeddedServer.class);
    }

    public static PageserverServer start(PageserverConfig config) {
        return start(config, null, PageServiceLimits.defaults());
    }

    /** As above with other page service limits. */
    public static PageserverServer start(PageserverConfig config, PageServiceLimits limits) {
        return start(config, null, limits);
    }

    /** With remote storage (null: none); see {@link PageserverNode#PageserverNode(PageserverConfig, RemoteStorageConfig)}. */
    public static PageserverServer start(PageserverConfig config, RemoteStorageConfig remote) {
        return start(config, remote, PageServiceLimits.defaults());
    }

    /** With remote storage (null: none) and other page service limits. */
    public static PageserverServer start(PageserverConfig config, RemoteStorageConfig remote, PageServiceLimits limits) {
        PageserverNode node = new PageserverNode(config, remote, limits);
        try {
            ApplicationContext ctx = ApplicationContext.builder()
                    .properties(Map.of(
                            "micronaut.application.name", "pageserver",
                            "micronaut.server.host", config.listenHost(),
                            "micronaut.server.port", config.httpPort() == 0 ? -1 : config.httpPort(),
                            "micronaut.server.max-request-size", MAX_REQUEST_BYTES,
                            "micronaut.banner.enabled", false,
                            // Only this service's beans: the local cluster runs several services in one JVM.
                            "strata.service", "pageserver"))
                    .singletons(node)
                    .deduceEnvironment(false)
                    .start();
            PageserverServer s = new PageserverServer(node, ctx);
            s.http.start();
            return s;
        } catch (RuntimeException e) {
            node.close();
            throw e;
        }
    }

    /** The Micronaut context (tests look at its router). */
    public ApplicationContext context() {
        return context;
    }

    public PageserverNode node() {
        return node;
    }

    public URI url() {
        return URI.create("http://" + http.getHost() + ":" + http.getPort());
    }

    public int httpPort() {
        return http.getPort();
    }

    public int pageServicePort() {
        return node.pageServicePort();
    }

    /** Graceful: HTTP first, then the page service, then every timeline flushes. */
    @Override
    public void close() {
        try {
            context.close();
        } finally {
            node.close();
        }
    }
}
