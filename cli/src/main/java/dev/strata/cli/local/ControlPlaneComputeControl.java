package dev.strata.cli.local;

import dev.strata.control.model.Endpoint;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationState;
import dev.strata.controlapi.ApiException;
import dev.strata.controlapi.ControlApi;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.proxy.wake.ComputeAddress;
import dev.strata.proxy.wake.ComputeControl;
import dev.strata.proxy.wake.EndpointSpec;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's wake and idle suspend through the control plane (decision 0029): an endpoint the
 * metadata knows is woken by scheduling a start through the in-process {@link ControlApi} (the
 * object the HTTP API serves, so the operation is the one `strata operation list` shows) and
 * waiting for the wake workflow to finish; its compute runs on one of the control plane's agents,
 * never on the cluster's own {@link LocalEndpoint}. Endpoints the metadata does not know (branches
 * made with `strata branch`, which still go to the admin port) go to {@code fallback}.
 *
 * <p>An endpoint RUNNING in the metadata whose compute is gone (killed, or died with an earlier
 * JVM) is suspended first (the suspend workflow: its agent reports no sessions, stops nothing,
 * returns to the pool), then woken: the proxy calls {@link #wake} again after a failed connection
 * ({@code invalidate}), and this is what that wake does. Every call runs on a virtual thread and is
 * bounded; a failed wake fails the future with the operation's error, which the proxy retries.
 */
final class ControlPlaneComputeControl implements ComputeControl, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ControlPlaneComputeControl.class);
    /** Bound on one wake or suspend, every workflow it waits for included. */
    private static final Duration DEADLINE = Duration.ofMinutes(3);
    private static final long POLL_MILLIS = 10;
    /** Re-read of an operation whose execution this JVM's launcher does not signal. */
    private static final long SLOW_POLL_MILLIS = 250;

    private final ClusterControlPlane controlPlane;
    private final ControlApi api;
    private final ComputeControl fallback;
    private final Duration idleTimeout;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final java.util.Map<EndpointId, Boolean> routes = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.Set<EndpointId> replacing = java.util.concurrent.ConcurrentHashMap.newKeySet();

    ControlPlaneComputeControl(ClusterControlPlane controlPlane, ComputeControl fallback, Duration idleTimeout) {
        this.controlPlane = controlPlane;
        this.api = controlPlane.api();
        this.fallback = fallback;
        this.idleTimeout = idleTimeout;
    }

    /**
     * Whether the metadata knows the endpoint. The proxy looks an endpoint up at every client
     * connection (PostgreSQL's suites open thousands): a known endpoint is remembered, so only the
     * first connection to it reads the metadata; one it does not know (a branch's, which the cluster
     * serves) is asked again each time, since the API may create it meanwhile. Endpoints are not deleted while the cluster runs except through the API,
     * after which a wake of a remembered one fails with the API's "does not exist".
     */
    private boolean known(EndpointId id) {
        Boolean route = routes.get(id);
        if (route != null) {
            return route;
        }
        boolean inMetadata = controlPlane.store().getEndpoint(id).isPresent();
        if (inMetadata) {
            routes.put(id, true);
        }
        return inMetadata;
    }

    @Override
    public CompletableFuture<Optional<EndpointSpec>> lookup(EndpointId id) {
        Boolean route = routes.get(id);
        if (route != null && route) {
            return CompletableFuture.completedFuture(Optional.of(EndpointSpec.of(id).withIdleTimeout(idleTimeout)));
        }
        return CompletableFuture.supplyAsync(() -> known(id), executor).thenCompose(inMetadata -> inMetadata
                ? CompletableFuture.completedFuture(Optional.of(EndpointSpec.of(id).withIdleTimeout(idleTimeout)))
                : fallback.lookup(id));
    }

    @Override
    public CompletableFuture<ComputeAddress> wake(EndpointId id) {
        return CompletableFuture.supplyAsync(() -> known(id), executor).thenCompose(inMetadata -> inMetadata
                ? CompletableFuture.supplyAsync(() -> wakeNow(id), executor)
                : fallback.wake(id));
    }

    @Override
    public CompletableFuture<Void> suspend(EndpointId id) {
        return CompletableFuture.supplyAsync(() -> known(id), executor).thenCompose(inMetadata -> inMetadata
                ? CompletableFuture.runAsync(() -> suspendNow(id), executor)
                : fallback.suspend(id));
    }

    /** Blocks until the endpoint's compute runs (waking it through the workflow if needed); its address. */
    ComputeAddress wakeNow(EndpointId id) {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (System.nanoTime() < deadline) {
            Endpoint e = api.endpoint(id);
            switch (e.state()) {
                case RUNNING -> {
                    if (controlPlane.computeRuns(e)) {
                        return address(e);
                    }
                    log.info("endpoint={} is RUNNING in the metadata but its compute on {} does not run; suspending "
                            + "it before the wake", id, e.agent().map(Object::toString).orElse("(no agent)"));
                    await(schedule(() -> api.suspendEndpoint(id)), deadline);
                }
                case SUSPENDED -> {
                    Operation op = await(schedule(() -> api.startEndpoint(id)), deadline);
                    if (op != null && op.state() == OperationState.FAILED) {
                        throw new IllegalStateException("endpoint " + id + ": wake operation " + op.id() + " failed: "
                                + op.error().orElse("(no error recorded)"));
                    }
                }
                case WAKING, SUSPENDING -> await(e.operation(), deadline); // another operation holds it
            }
        }
        throw new IllegalStateException("endpoint " + id + " did not come up within " + DEADLINE);
    }

    /**
     * The cluster's supervisor, every second: an endpoint of the cluster's project RUNNING in the
     * metadata whose compute died on its agent in this run (the agent reports it failed) is woken
     * again at once, as the cluster replaced its own compute before (docs/local-cluster.md); the
     * proxy's next connection would do the same, later. A compute on an agent started by this JVM
     * that never ran it (a restart) is left to the start-up suspend.
     */
    void replaceDeadComputes() {
        for (Endpoint e : controlPlane.store().listEndpoints(ClusterControlPlane.PROJECT)) {
            if (e.state() == dev.strata.control.model.EndpointState.RUNNING && controlPlane.computeFailed(e)
                    && replacing.add(e.id())) {
                log.warn("endpoint={} its compute on {} died; waking it again through the workflows", e.id(),
                        e.agent().map(Object::toString).orElse("?"));
                executor.execute(() -> {
                    try {
                        wakeNow(e.id());
                    } catch (RuntimeException ex) {
                        log.warn("endpoint={} could not be woken again: {}", e.id(), ex.getMessage());
                    } finally {
                        replacing.remove(e.id());
                    }
                });
            }
        }
    }

    /** Suspends the endpoint through the suspend workflow if it is RUNNING; waits for the operation. */
    void suspendNow(EndpointId id) {
        suspendNow(id, System.nanoTime() + DEADLINE.toNanos());
    }

    private void suspendNow(EndpointId id, long deadline) {
        Endpoint e = api.endpoint(id);
        switch (e.state()) {
            case RUNNING -> {
                Operation op = await(schedule(() -> api.suspendEndpoint(id)), deadline);
                if (op != null && op.state() == OperationState.FAILED) {
                    log.warn("endpoint={} suspend operation {} failed: {}", id, op.id(), op.error().orElse("?"));
                }
            }
            case SUSPENDING -> await(e.operation(), deadline);
            case WAKING, SUSPENDED -> {
                // a wake holds it (a connection came), or nothing runs
            }
        }
    }

    /**
     * A clean stop ({@code strata down}, Ctrl-C): every endpoint of every project RUNNING in the
     * metadata is suspended through the suspend workflow, so none is left RUNNING on a compute
     * that dies with this JVM; one a wake or a suspend holds is waited for, then suspended. The
     * proxy is closed first (no client holds a session; a compute whose backends have not exited
     * yet is asked again). Bounded by {@code bound}; returns the endpoints still not SUSPENDED
     * then (the next {@code up} suspends them at start).
     */
    java.util.List<EndpointId> suspendAll(Duration bound) {
        long deadline = System.nanoTime() + bound.toNanos();
        java.util.List<EndpointId> left = new java.util.ArrayList<>();
        while (true) {
            left.clear();
            java.util.concurrent.atomic.AtomicInteger failed = new java.util.concurrent.atomic.AtomicInteger();
            java.util.List<CompletableFuture<Void>> waits = new java.util.ArrayList<>();
            for (dev.strata.control.model.Project p : controlPlane.store().listProjects()) {
                for (Endpoint e : controlPlane.store().listEndpoints(p.id())) {
                    if (e.state() == dev.strata.control.model.EndpointState.SUSPENDED) {
                        continue;
                    }
                    left.add(e.id());
                    waits.add(CompletableFuture.runAsync(() -> {
                        try {
                            Endpoint now = api.endpoint(e.id());
                            if (now.state() == dev.strata.control.model.EndpointState.WAKING) {
                                await(now.operation(), deadline);
                            }
                            suspendNow(e.id(), deadline);
                        } catch (RuntimeException ex) {
                            failed.incrementAndGet();
                            log.warn("endpoint={} not suspended at stop: {}", e.id(), ex.getMessage());
                        }
                    }, executor));
                }
            }
            if (left.isEmpty()) {
                return java.util.List.of();
            }
            for (CompletableFuture<Void> w : waits) {
                long nanos = deadline - System.nanoTime();
                try {
                    w.get(Math.max(1, nanos), java.util.concurrent.TimeUnit.NANOSECONDS);
                } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
                    // counted below by what the metadata says
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return java.util.List.copyOf(left);
                }
            }
            if (System.nanoTime() >= deadline || failed.get() == waits.size()) {
                // out of time, or every attempt failed (e.g. the engine is gone: Ctrl-C reached
                // its process too); the next start suspends what is left
                left.removeIf(id -> controlPlane.store().getEndpoint(id)
                        .map(e -> e.state() == dev.strata.control.model.EndpointState.SUSPENDED).orElse(true));
                return java.util.List.copyOf(left);
            }
            try {
                Thread.sleep(250); // a suspend skipped for open sessions: ask again
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return java.util.List.copyOf(left);
            }
        }
    }

    /** The operation the call scheduled (or found scheduled), or empty if the endpoint moved meanwhile. */
    private static Optional<OperationId> schedule(java.util.function.Supplier<Operation> call) {
        try {
            return Optional.of(call.get().id());
        } catch (ApiException conflict) {
            if (conflict.kind() == ApiException.Kind.CONFLICT) {
                return Optional.empty(); // changed state since it was read: the caller reads it again
            }
            throw conflict;
        }
    }

    /**
     * Waits until the operation ends (null if there is none); the operation as it ended. The
     * launcher says when the execution it started ends, so the store is read once before and once
     * after rather than every few milliseconds while the workflow's own steps use it (the local
     * store is one dynalite process); an operation this launcher did not start (another caller's,
     * or one left for recovery) is read again every {@link #SLOW_POLL_MILLIS}.
     */
    private Operation await(Optional<OperationId> id, long deadline) {
        if (id.isEmpty()) {
            pause();
            return null;
        }
        java.util.concurrent.CompletableFuture<Void> ended = controlPlane.executionEnded(id.get());
        try {
            while (System.nanoTime() < deadline) {
                Operation op = api.operation(id.get());
                if (op.state().isFinal()) {
                    return op;
                }
                try {
                    ended.get(SLOW_POLL_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.TimeoutException notYet) {
                    // read it again: the launcher may not be the one running it
                } catch (java.util.concurrent.ExecutionException e) {
                    throw new IllegalStateException("waiting for operation " + id.get(), e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted", e);
                }
            }
        } finally {
            controlPlane.stopWaiting(id.get(), ended);
        }
        throw new IllegalStateException("operation " + id.get() + " did not end within " + DEADLINE);
    }

    private static void pause() {
        try {
            Thread.sleep(POLL_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static ComputeAddress address(Endpoint e) {
        String a = e.address().orElseThrow();
        int colon = a.lastIndexOf(':');
        return new ComputeAddress(a.substring(0, colon), Integer.parseInt(a.substring(colon + 1)));
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
