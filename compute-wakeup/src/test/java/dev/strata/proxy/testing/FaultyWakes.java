package dev.strata.proxy.testing;

import dev.strata.pgcore.id.EndpointId;
import dev.strata.proxy.wake.ComputeAddress;
import dev.strata.proxy.wake.ComputeControl;
import dev.strata.proxy.wake.EndpointSpec;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** Fault injection around a real control: the next N wakes of an endpoint fail (-1: all of them); suspends can be slowed. */
public final class FaultyWakes implements ComputeControl {

    private final ComputeControl delegate;
    private final Map<EndpointId, AtomicInteger> failures = new ConcurrentHashMap<>();
    public final AtomicInteger failedWakes = new AtomicInteger();
    private volatile Duration suspendDelay = Duration.ZERO;

    public FaultyWakes(ComputeControl delegate) {
        this.delegate = delegate;
    }

    public void failNextWakes(String endpoint, int n) {
        failures.put(EndpointId.of(endpoint), new AtomicInteger(n));
    }

    @Override
    public CompletableFuture<Optional<EndpointSpec>> lookup(EndpointId endpoint) {
        return delegate.lookup(endpoint);
    }

    @Override
    public CompletableFuture<ComputeAddress> wake(EndpointId endpoint) {
        AtomicInteger left = failures.get(endpoint);
        if (left != null && (left.get() < 0 || left.getAndUpdate(n -> Math.max(0, n - 1)) > 0)) {
            failedWakes.incrementAndGet();
            return CompletableFuture.failedFuture(new IllegalStateException("injected: compute of " + endpoint
                    + " failed to start"));
        }
        return delegate.wake(endpoint);
    }

    /** Every suspend starts only after {@code delay} (a slow control plane). */
    public void delaySuspends(Duration delay) {
        this.suspendDelay = delay;
    }

    @Override
    public CompletableFuture<Void> suspend(EndpointId endpoint) {
        Duration d = suspendDelay;
        if (d.isZero()) {
            return delegate.suspend(endpoint);
        }
        return CompletableFuture.runAsync(() -> { }, CompletableFuture.delayedExecutor(d.toMillis(), TimeUnit.MILLISECONDS))
                .thenCompose(x -> delegate.suspend(endpoint));
    }
}
