package dev.strata.cli.local;

import dev.strata.compute.node.StartedCompute;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.proxy.wake.ComputeAddress;
import dev.strata.proxy.wake.ComputeControl;
import dev.strata.proxy.wake.EndpointSpec;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The proxy's control plane in the local cluster: one endpoint per branch, woken by starting
 * its compute (election, basebackup, PostgreSQL) and suspended by stopping it, unless the compute
 * has clients of its own ({@link LocalEndpoint#suspendIfIdle}). The work runs on
 * virtual threads, never on the proxy's event loops.
 */
final class LocalComputeControl implements ComputeControl, AutoCloseable {

    private final LocalCluster cluster;
    private final Duration idleTimeout;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();

    LocalComputeControl(LocalCluster cluster, Duration idleTimeout) {
        this.cluster = cluster;
        this.idleTimeout = idleTimeout;
    }

    @Override
    public CompletableFuture<Optional<EndpointSpec>> lookup(EndpointId id) {
        return CompletableFuture.completedFuture(cluster.endpointById(id)
                .map(e -> EndpointSpec.of(id).withIdleTimeout(idleTimeout)));
    }

    @Override
    public CompletableFuture<ComputeAddress> wake(EndpointId id) {
        Optional<LocalEndpoint> endpoint = cluster.endpointById(id);
        if (endpoint.isEmpty()) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("no endpoint " + id));
        }
        return CompletableFuture.supplyAsync(() -> {
            StartedCompute s = endpoint.get().start();
            return new ComputeAddress(s.host(), s.port());
        }, executor);
    }

    @Override
    public CompletableFuture<Void> suspend(EndpointId id) {
        Optional<LocalEndpoint> endpoint = cluster.endpointById(id);
        if (endpoint.isEmpty()) {
            return CompletableFuture.completedFuture(null); // deleted meanwhile: nothing runs
        }
        return CompletableFuture.runAsync(() -> endpoint.get().suspendIfIdle(idleTimeout), executor);
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
