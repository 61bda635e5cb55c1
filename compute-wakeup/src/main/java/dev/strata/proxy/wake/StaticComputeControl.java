package dev.strata.proxy.wake;

import dev.strata.pgcore.id.EndpointId;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Endpoints whose computes run elsewhere at fixed addresses and are never stopped by the
 * proxy: {@code wake} returns the address, {@code suspend} does nothing. For
 * {@link dev.strata.proxy.ProxyMain} in front of servers started by hand, until the local
 * cluster provides a control that really starts and stops computes.
 */
public final class StaticComputeControl implements ComputeControl {

    private final Map<EndpointId, ComputeAddress> computes;

    public StaticComputeControl(Map<EndpointId, ComputeAddress> computes) {
        this.computes = Map.copyOf(computes);
    }

    @Override
    public CompletableFuture<Optional<EndpointSpec>> lookup(EndpointId endpoint) {
        return CompletableFuture.completedFuture(computes.containsKey(endpoint)
                ? Optional.of(EndpointSpec.of(endpoint)) : Optional.empty());
    }

    @Override
    public CompletableFuture<ComputeAddress> wake(EndpointId endpoint) {
        ComputeAddress a = computes.get(endpoint);
        return a != null ? CompletableFuture.completedFuture(a)
                : CompletableFuture.failedFuture(new IllegalArgumentException("no compute for endpoint " + endpoint));
    }

    @Override
    public CompletableFuture<Void> suspend(EndpointId endpoint) {
        return CompletableFuture.completedFuture(null);
    }
}
