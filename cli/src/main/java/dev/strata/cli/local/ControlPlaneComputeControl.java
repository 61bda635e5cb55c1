package dev.strata.cli.local;

import dev.strata.control.model.Endpoint;
import dev.strata.control.model.OperationId;
import dev.strata.controlapi.wake.ControlPlaneWake;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.proxy.wake.ComputeAddress;
import dev.strata.proxy.wake.ComputeControl;
import dev.strata.proxy.wake.EndpointSpec;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local cluster's proxy control: the control plane's wake ({@link ControlPlaneWake}, the same
 * code the proxy runs on AWS, decision 0034) for endpoints the metadata knows, with what only the
 * cluster has: a compute is alive when its agent in this JVM runs it ({@code computeRuns}), the
 * in-JVM launcher signals when an execution ends (so the store is read once before and once after
 * rather than every few milliseconds while the workflow's own steps use the one dynalite process),
 * endpoints the metadata does not know (branches made with `strata branch`, which still go to the
 * admin port) go to {@code fallback}, and the supervisor's {@link #replaceDeadComputes} and the
 * clean stop's {@link #suspendAll}.
 */
final class ControlPlaneComputeControl implements ComputeControl, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ControlPlaneComputeControl.class);
    /** Re-read of an operation whose execution this JVM's launcher does not signal. */
    private static final Duration SLOW_POLL = Duration.ofMillis(250);

    private final ClusterControlPlane controlPlane;
    private final ControlPlaneWake wake;
    private final ComputeControl fallback;
    private final java.util.Set<EndpointId> replacing = java.util.concurrent.ConcurrentHashMap.newKeySet();

    ControlPlaneComputeControl(ClusterControlPlane controlPlane, ComputeControl fallback, Duration idleTimeout) {
        this.controlPlane = controlPlane;
        this.fallback = fallback;
        this.wake = new ControlPlaneWake(controlPlane.api(), controlPlane::computeRuns,
                new ControlPlaneWake.OperationSignal() {
                    @Override
                    public CompletableFuture<Void> ended(OperationId op) {
                        return controlPlane.executionEnded(op);
                    }

                    @Override
                    public void stopWaiting(OperationId op, CompletableFuture<Void> ended) {
                        controlPlane.stopWaiting(op, ended);
                    }
                }, ControlPlaneWake.Settings.DEFAULTS.withPolls(SLOW_POLL, SLOW_POLL).withIdleTimeout(idleTimeout));
    }

    @Override
    public CompletableFuture<Optional<EndpointSpec>> lookup(EndpointId id) {
        return wake.lookup(id).thenCompose(spec -> spec.isPresent()
                ? CompletableFuture.completedFuture(spec) : fallback.lookup(id));
    }

    @Override
    public CompletableFuture<ComputeAddress> wake(EndpointId id) {
        return CompletableFuture.supplyAsync(() -> wake.known(id), wake.executor()).thenCompose(inMetadata -> inMetadata
                ? wake.wake(id).exceptionallyCompose(ControlPlaneComputeControl::retryable)
                : fallback.wake(id));
    }

    @Override
    public CompletableFuture<Void> suspend(EndpointId id) {
        return CompletableFuture.supplyAsync(() -> wake.known(id), wake.executor()).thenCompose(inMetadata -> inMetadata
                ? wake.suspend(id)
                : fallback.suspend(id));
    }

    /**
     * Locally a failed wake operation stays retryable by the proxy, as before decision 0034: the
     * workflows run in this JVM on a loaded laptop, where a wake that failed (an election that lost a
     * race with a restart) usually succeeds on the next try, and a retry costs no AWS execution.
     */
    private static CompletableFuture<ComputeAddress> retryable(Throwable t) {
        Throwable cause = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
        if (cause instanceof dev.strata.proxy.wake.WakeRefusedException refused) {
            return CompletableFuture.failedFuture(new IllegalStateException(refused.getMessage(), refused));
        }
        return CompletableFuture.failedFuture(t);
    }

    /** Blocks until the endpoint's compute runs (waking it through the workflow if needed); its address. */
    ComputeAddress wakeNow(EndpointId id) {
        return wake.wakeNow(id);
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
                wake.executor().execute(() -> {
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
        wake.suspendNow(id);
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
                            Endpoint now = controlPlane.api().endpoint(e.id());
                            if (now.state() == dev.strata.control.model.EndpointState.WAKING) {
                                wake.await(now.operation(), deadline);
                            }
                            wake.suspendNow(e.id(), deadline);
                        } catch (RuntimeException ex) {
                            failed.incrementAndGet();
                            log.warn("endpoint={} not suspended at stop: {}", e.id(), ex.getMessage());
                        }
                    }, wake.executor()));
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

    @Override
    public void close() {
        wake.close();
    }
}
