package dev.strata.proxy.wake;

import dev.strata.proxy.metrics.ProxyMetrics;
import dev.strata.proxy.protocol.ErrorKind;
import dev.strata.proxy.protocol.ProxyException;
import dev.strata.pgcore.id.EndpointId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Every endpoint the proxy has routed to: its {@link EndpointState}, the compute's cached
 * address, its open client connections and last activity. Connections enter through
 * {@link #lookup} and {@link #open}, ask {@link #address} (which wakes the compute, one wake
 * per endpoint however many clients wait) and report a dead cached address with
 * {@link #invalidate}. A sweep every {@code sweepInterval} suspends endpoints that had no
 * connection for their idle timeout. {@link #status} is the snapshot for {@code strata status}.
 */
public final class EndpointRegistry implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EndpointRegistry.class);
    /** Activity is recorded with this precision (100 ms). */
    static final long TOUCH_GRANULARITY_NANOS = 100_000_000L;

    private final ComputeControl control;
    private final WakePolicy wakePolicy;
    private final Duration defaultIdleTimeout;
    private final ScheduledExecutorService scheduler;
    private final ConcurrentHashMap<EndpointId, Endpoint> endpoints = new ConcurrentHashMap<>();

    private final ProxyMetrics metrics;

    public EndpointRegistry(ComputeControl control, WakePolicy wakePolicy, Duration defaultIdleTimeout,
                            Duration sweepInterval) {
        this(control, wakePolicy, defaultIdleTimeout, sweepInterval, new ProxyMetrics());
    }

    /** As above, counting wakes and their latency in {@code metrics}. */
    public EndpointRegistry(ComputeControl control, WakePolicy wakePolicy, Duration defaultIdleTimeout,
                            Duration sweepInterval, ProxyMetrics metrics) {
        this.metrics = Objects.requireNonNull(metrics, "metrics is null");
        this.control = Objects.requireNonNull(control, "control is null");
        this.wakePolicy = Objects.requireNonNull(wakePolicy, "wakePolicy is null");
        this.defaultIdleTimeout = Objects.requireNonNull(defaultIdleTimeout, "defaultIdleTimeout is null");
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "strata-proxy-endpoints");
            t.setDaemon(true);
            return t;
        });
        long every = sweepInterval.toMillis();
        scheduler.scheduleWithFixedDelay(this::sweepSafely, every, every, TimeUnit.MILLISECONDS);
    }

    /** The endpoint's spec, or a failed future with {@link ErrorKind#UNKNOWN_ENDPOINT}. */
    public CompletableFuture<EndpointSpec> lookup(EndpointId id) {
        CompletableFuture<java.util.Optional<EndpointSpec>> f;
        try {
            f = control.lookup(id);
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        return f.orTimeout(wakePolicy.timeout().toMillis(), TimeUnit.MILLISECONDS).handle((spec, error) -> {
            if (error != null) {
                throw new ProxyException(ErrorKind.WAKE_FAILED, "endpoint " + id + ": lookup failed: "
                        + describe(error), unwrap(error));
            }
            return spec.orElseThrow(() -> new ProxyException(ErrorKind.UNKNOWN_ENDPOINT,
                    "endpoint '" + id + "' does not exist"));
        });
    }

    /** Counts a client connection to the endpoint until the returned lease is closed. */
    public Lease open(EndpointSpec spec) {
        Endpoint ep = endpoint(spec.id());
        synchronized (ep) {
            ep.idleTimeout = spec.idleTimeout() != null ? spec.idleTimeout() : defaultIdleTimeout;
            ep.openConnections++;
            ep.touch();
        }
        return new Lease(ep);
    }

    /** The running compute's address, waking it first if needed; fails with WAKE_FAILED after the wake timeout. */
    public CompletableFuture<ComputeAddress> address(EndpointId id) {
        Endpoint ep = endpoint(id);
        synchronized (ep) {
            return switch (ep.state) {
                case RUNNING -> CompletableFuture.completedFuture(ep.address);
                case WAKING -> ep.wake.copy();
                case SUSPENDED -> startWake(ep).copy();
                case SUSPENDING -> ep.suspend.handle((v, e) -> null).thenCompose(x -> address(id));
            };
        }
    }

    /** A connection to {@code stale} failed: forget it, so the next {@link #address} wakes the endpoint again. */
    public void invalidate(EndpointId id, ComputeAddress stale) {
        Endpoint ep = endpoint(id);
        synchronized (ep) {
            if (ep.state == EndpointState.RUNNING && stale.equals(ep.address)) {
                log.info("endpoint={} compute={} unreachable; will wake again", id, stale);
                ep.move(EndpointState.SUSPENDED);
                ep.address = null;
            }
        }
    }

    /**
     * The endpoint no longer exists (its branch was deleted): drop what the proxy knows of it, so
     * status stops listing it and the next connection asks the control plane again (and is told
     * it is unknown). Connections still open keep their lease on the dropped entry and end with
     * their compute.
     */
    public void forget(EndpointId id) {
        Endpoint ep = endpoints.remove(id);
        if (ep != null) {
            log.info("endpoint={} forgotten (deleted); {} connection(s) were open", id, ep.status().openConnections());
        }
    }

    public List<EndpointStatus> status() {
        return endpoints.values().stream().map(Endpoint::status)
                .sorted(Comparator.comparing(EndpointStatus::endpoint)).toList();
    }

    /** Suspends every RUNNING endpoint without connections for its idle timeout; the sweep calls it. */
    public void suspendIdle() {
        long now = System.nanoTime();
        for (Endpoint ep : endpoints.values()) {
            synchronized (ep) {
                if (ep.state != EndpointState.RUNNING || ep.openConnections > 0
                        || now - ep.lastActivityNanos < ep.idleTimeout.toNanos()) {
                    continue;
                }
                log.info("endpoint={} idle for {}; suspending", ep.id, ep.idleTimeout);
                ep.move(EndpointState.SUSPENDING);
                CompletableFuture<Void> f;
                try {
                    f = control.suspend(ep.id);
                } catch (RuntimeException e) {
                    f = CompletableFuture.failedFuture(e);
                }
                ep.suspend = f.orTimeout(wakePolicy.timeout().toMillis(), TimeUnit.MILLISECONDS)
                        .whenComplete((v, error) -> {
                            if (error != null) {
                                log.warn("endpoint={} suspend failed: {}", ep.id, describe(error));
                            }
                            synchronized (ep) {
                                ep.move(EndpointState.SUSPENDED);
                                ep.address = null;
                                ep.suspend = null;
                            }
                        });
            }
        }
    }

    private void sweepSafely() {
        try {
            suspendIdle();
        } catch (RuntimeException e) {
            log.error("idle sweep failed", e);
        }
    }

    private Endpoint endpoint(EndpointId id) {
        return endpoints.computeIfAbsent(id, i -> new Endpoint(i, defaultIdleTimeout));
    }

    /** Called with the endpoint's lock held. */
    private CompletableFuture<ComputeAddress> startWake(Endpoint ep) {
        ep.move(EndpointState.WAKING);
        CompletableFuture<ComputeAddress> result = new CompletableFuture<>();
        ep.wake = result;
        long deadline = System.nanoTime() + wakePolicy.timeout().toNanos();
        log.info("endpoint={} waking", ep.id);
        metrics.wakeStarted();
        attempt(ep, result, 0, deadline, System.nanoTime());
        return result;
    }

    private void attempt(Endpoint ep, CompletableFuture<ComputeAddress> result, int n, long deadline, long started) {
        long remaining = deadline - System.nanoTime();
        CompletableFuture<ComputeAddress> f;
        try {
            f = control.wake(ep.id);
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        f.orTimeout(Math.max(1, remaining), TimeUnit.NANOSECONDS).whenComplete((address, error) -> {
            if (error == null && address == null) {
                error = new IllegalStateException("wake completed without an address");
            }
            if (error == null) {
                synchronized (ep) {
                    ep.move(EndpointState.RUNNING);
                    ep.address = address;
                    ep.wake = null;
                    ep.wakes++;
                    ep.touch();
                }
                metrics.wakeSucceeded(Duration.ofNanos(System.nanoTime() - started));
                log.info("endpoint={} running at {} after {} ms ({} attempts)", ep.id, address,
                        (System.nanoTime() - started) / 1_000_000, n + 1);
                result.complete(address);
                return;
            }
            long delay = wakePolicy.delayAfter(n).toNanos();
            boolean refused = unwrap(error) instanceof WakeRefusedException;
            if (!refused && System.nanoTime() + delay < deadline) {
                log.debug("endpoint={} wake attempt {} failed: {}; retrying", ep.id, n + 1, describe(error));
                scheduler.schedule(() -> attempt(ep, result, n + 1, deadline, started), delay, TimeUnit.NANOSECONDS);
                return;
            }
            synchronized (ep) {
                ep.move(EndpointState.SUSPENDED);
                ep.wake = null;
            }
            metrics.wakeFailed();
            if (refused) {
                log.warn("endpoint={} wake refused by the control plane: {}", ep.id, describe(error));
                result.completeExceptionally(new ProxyException(ErrorKind.WAKE_FAILED, describe(error), unwrap(error)));
                return;
            }
            log.warn("endpoint={} did not wake within {} ({} attempts): {}", ep.id, wakePolicy.timeout(), n + 1,
                    describe(error));
            result.completeExceptionally(new ProxyException(ErrorKind.WAKE_FAILED, "endpoint " + ep.id
                    + ": compute did not start within " + wakePolicy.timeout().toMillis() + " ms ("
                    + (n + 1) + " attempts): " + describe(error), unwrap(error)));
        });
    }

    private static Throwable unwrap(Throwable t) {
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private static String describe(Throwable t) {
        t = unwrap(t);
        if (t instanceof TimeoutException) {
            return "timed out";
        }
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }

    /** A connection counted against its endpoint; {@link #touch} records activity, {@link #close} ends it. */
    public final class Lease implements AutoCloseable {
        private final Endpoint ep;
        private boolean closed;

        private Lease(Endpoint ep) {
            this.ep = ep;
        }

        public EndpointId endpoint() {
            return ep.id;
        }

        /**
         * Called on every relayed read; writes the endpoint's shared field at most every
         * {@link #TOUCH_GRANULARITY_NANOS}, so connections of one endpoint on different event
         * loops do not bounce its cache line per read (idle timeouts are seconds).
         */
        public void touch() {
            long now = System.nanoTime();
            if (now - ep.lastActivityNanos > TOUCH_GRANULARITY_NANOS) {
                ep.lastActivityNanos = now;
            }
        }

        @Override
        public void close() {
            synchronized (ep) {
                if (!closed) {
                    closed = true;
                    ep.openConnections--;
                    ep.touch();
                }
            }
        }
    }

    private static final class Endpoint {
        final EndpointId id;
        EndpointState state = EndpointState.SUSPENDED;
        ComputeAddress address;
        CompletableFuture<ComputeAddress> wake;
        CompletableFuture<Void> suspend;
        Duration idleTimeout;
        int openConnections;
        volatile long lastActivityNanos = System.nanoTime();
        long wakes;

        Endpoint(EndpointId id, Duration idleTimeout) {
            this.id = id;
            this.idleTimeout = idleTimeout;
        }

        void move(EndpointState target) {
            state = state.moveTo(target);
        }

        void touch() {
            lastActivityNanos = System.nanoTime();
        }

        synchronized EndpointStatus status() {
            Instant last = Instant.now().minusNanos(System.nanoTime() - lastActivityNanos);
            return new EndpointStatus(id, state, openConnections, last, address, wakes);
        }
    }
}
