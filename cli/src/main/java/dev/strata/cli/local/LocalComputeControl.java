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
 * The proxy's control plane in the local cluster: one endpoint (branch main's), woken by
 * starting its compute (election, basebackup, PostgreSQL) and suspended by stopping it. The
 * work runs on virtual threads, never on the proxy's event loops.
 */
final class LocalComputeControl implements ComputeControl, AutoCloseable {

    private final LocalCluster cluster;
    private final EndpointId endpoint;
    private final Duration idleTimeout;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();

    LocalComputeControl(LocalCluster cluster, EndpointId endpoint, Duration idleTimeout) {
        this.cluster = cluster;
        this.endpoint = endpoint;
        this.idleTimeout = idleTimeout;
    }

    @Override
    public CompletableFuture<Optional<EndpointSpec>> lookup(EndpointId id) {
        return CompletableFuture.completedFuture(id.equals(endpoint)
                ? Optional.of(EndpointSpec.of(id).withIdleTimeout(idleTimeout)) : Optional.empty());
    }

    @Override
    public CompletableFuture<ComputeAddress> wake(EndpointId id) {
        if (!id.equals(endpoint)) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("no endpoint " + id));
        }
        return CompletableFuture.supplyAsync(() -> {
            StartedCompute s = cluster.startCompute();
            return new ComputeAddress(s.host(), s.port());
        }, executor);
    }

    @Override
    public CompletableFuture<Void> suspend(EndpointId id) {
        if (!id.equals(endpoint)) {
            return CompletableFuture.completedFuture(null);
        }
        return CompletableFuture.runAsync(cluster::stopCompute, executor);
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
