package dev.strata.proxy.testing;

import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.proxy.wake.ComputeAddress;
import dev.strata.proxy.wake.ComputeControl;
import dev.strata.proxy.wake.EndpointSpec;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link ComputeControl} whose computes are real PostgreSQL 17 servers on loopback:
 * {@code wake} starts the endpoint's server (on its own thread, as a control plane would),
 * {@code suspend} stops it. Counts the calls so tests can assert single-flight wakes.
 * A server keeps its port across restarts when it can.
 */
public final class PostgresComputeControl implements ComputeControl, AutoCloseable {

    /** One endpoint's compute and what was asked of it. */
    public static final class Compute {
        public final PostgresServer server;
        final Duration idleTimeout;
        public final AtomicInteger wakeCalls = new AtomicInteger();
        public final AtomicInteger starts = new AtomicInteger();
        public final AtomicInteger suspends = new AtomicInteger();

        Compute(PostgresServer server, Duration idleTimeout) {
            this.server = server;
            this.idleTimeout = idleTimeout;
        }
    }

    private final Map<EndpointId, Compute> computes = new ConcurrentHashMap<>();
    private final ExecutorService executor = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "test-control-plane");
        t.setDaemon(true);
        return t;
    });

    /** Creates the endpoint's server (initdb), suspended; a null idle timeout means the proxy's default. */
    public Compute add(String endpoint, Duration idleTimeout) {
        return add(endpoint, idleTimeout, "scram-sha-256");
    }

    /** As {@link #add(String, Duration)}, with pg_hba method {@code scram-sha-256}, {@code md5} or {@code password}. */
    public Compute add(String endpoint, Duration idleTimeout, String authMethod) {
        PostgresServer server = PostgresServer.builder().setting("fsync", "off").authMethod(authMethod).start();
        server.stop();
        Compute c = new Compute(server, idleTimeout);
        computes.put(EndpointId.of(endpoint), c);
        return c;
    }

    public Compute compute(String endpoint) {
        return computes.get(EndpointId.of(endpoint));
    }

    @Override
    public CompletableFuture<Optional<EndpointSpec>> lookup(EndpointId endpoint) {
        Compute c = computes.get(endpoint);
        return CompletableFuture.completedFuture(Optional.ofNullable(c).map(x -> new EndpointSpec(endpoint, x.idleTimeout)));
    }

    @Override
    public CompletableFuture<ComputeAddress> wake(EndpointId endpoint) {
        Compute c = computes.get(endpoint);
        if (c == null) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("no endpoint " + endpoint));
        }
        c.wakeCalls.incrementAndGet();
        return CompletableFuture.supplyAsync(() -> {
            synchronized (c) {
                if (!c.server.isRunning()) {
                    c.starts.incrementAndGet();
                    c.server.start();
                }
                return new ComputeAddress(c.server.host(), c.server.port());
            }
        }, executor);
    }

    @Override
    public CompletableFuture<Void> suspend(EndpointId endpoint) {
        Compute c = computes.get(endpoint);
        if (c == null) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("no endpoint " + endpoint));
        }
        return CompletableFuture.runAsync(() -> {
            synchronized (c) {
                c.suspends.incrementAndGet();
                c.server.stop();
            }
        }, executor);
    }

    @Override
    public void close() {
        computes.values().forEach(c -> c.server.close());
        executor.shutdownNow();
    }
}
