package dev.strata.controlapi.wake;

import dev.strata.control.EndpointBusyException;
import dev.strata.control.TransientStepException;
import dev.strata.control.metadata.MetadataException;
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
import dev.strata.proxy.wake.WakeRefusedException;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * The proxy's wake and idle suspend through the control plane (decisions 0029, 0034), the same on
 * AWS and in {@code strata up}: an endpoint the metadata knows is woken by scheduling a start
 * through {@link ControlApi} (the operation {@code strata operation list} shows, its workflow
 * launched by the API's {@code WorkflowLauncher}) and waiting for that operation to end; the
 * compute's address is the one the workflow wrote into the endpoint's item. Idle suspend schedules
 * the suspend workflow the same way.
 *
 * <p>What differs between the two places is passed in: {@link ComputeLiveness} (locally: the agent
 * in the cluster's JVM runs it; on AWS: the compute accepts a TCP connection) and
 * {@link OperationSignal} (locally the in-JVM launcher says when the execution it started ended; on
 * AWS there is no such signal and the operation item is polled, with backoff, until it is final).
 *
 * <p>An endpoint RUNNING in the metadata whose compute is not alive (killed, its task replaced) is
 * suspended first (the suspend workflow finds no sessions and returns its agent to the pool), then
 * woken: the proxy calls {@link #wake} again after a failed connection, and this is what that wake
 * does. Every call runs on a virtual thread and is bounded by {@link Settings#deadline}. A wake
 * operation that ended FAILED fails the future with {@link WakeRefusedException} naming the
 * endpoint, the operation and its recorded error, which the proxy passes to the client at once
 * (SQLSTATE 57P03) instead of starting more operations that would fail the same way; other
 * failures (the metadata unreadable, a deadline) are retried by the proxy.
 */
public final class ControlPlaneWake implements ComputeControl, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ControlPlaneWake.class);
    /** The pause before reading an endpoint again that changed state while it was read. */
    private static final Duration CONFLICT_PAUSE = Duration.ofMillis(10);

    /** Whether the compute the metadata says an endpoint RUNNING on is alive at its address. */
    @FunctionalInterface
    public interface ComputeLiveness {
        boolean runs(Endpoint endpoint);

        /** Trusts the metadata: RUNNING with an address is alive. */
        ComputeLiveness METADATA = e -> e.address().isPresent();

        /**
         * Alive if its address accepts a TCP connection within {@code timeout} (the proxy on AWS,
         * where the compute runs in another task). A compute that is alive but slow to accept is at
         * worst asked to suspend: the suspend workflow skips an endpoint with open sessions.
         */
        static ComputeLiveness tcp(Duration timeout) {
            int millis = Math.toIntExact(Math.max(1, timeout.toMillis()));
            return e -> {
                if (e.address().isEmpty()) {
                    return false;
                }
                ComputeAddress a;
                try {
                    a = address(e);
                } catch (IllegalStateException bad) {
                    return false;
                }
                try (java.net.Socket s = new java.net.Socket()) {
                    s.connect(new java.net.InetSocketAddress(a.host(), a.port()), millis);
                    return true;
                } catch (java.io.IOException | IllegalArgumentException unreachable) {
                    return false;
                }
            };
        }
    }

    /**
     * Learns sooner than the next poll that an operation's execution ended (the in-JVM launcher);
     * {@link #NONE} where nothing says so (Step Functions), so waits poll the operation item.
     */
    public interface OperationSignal {
        /** Completes when the execution of {@code op} ended; may never complete. */
        CompletableFuture<Void> ended(OperationId op);

        /** The caller no longer waits on {@code ended}. */
        void stopWaiting(OperationId op, CompletableFuture<Void> ended);

        OperationSignal NONE = new OperationSignal() {
            @Override
            public CompletableFuture<Void> ended(OperationId op) {
                return new CompletableFuture<>();
            }

            @Override
            public void stopWaiting(OperationId op, CompletableFuture<Void> ended) {
            }
        };
    }

    /**
     * @param deadline      bound on one wake or suspend, every workflow it waits for included
     * @param firstPoll     the first re-read of an operation that has not ended; doubled up to {@code maxPoll}
     * @param maxPoll       the longest pause between two reads of the operation
     * @param idleTimeout   the idle timeout the proxy applies to every endpoint; empty: each endpoint's own
     *                      (its item's {@code idleTimeout})
     */
    public record Settings(Duration deadline, Duration firstPoll, Duration maxPoll, Optional<Duration> idleTimeout) {

        /** 3 minutes; polls from 25 ms up to 250 ms; each endpoint's own idle timeout. */
        public static final Settings DEFAULTS = new Settings(Duration.ofMinutes(3), Duration.ofMillis(25),
                Duration.ofMillis(250), Optional.empty());

        public Settings {
            Objects.requireNonNull(deadline, "deadline is null");
            Objects.requireNonNull(firstPoll, "firstPoll is null");
            Objects.requireNonNull(maxPoll, "maxPoll is null");
            Objects.requireNonNull(idleTimeout, "idleTimeout is null");
            if (deadline.isNegative() || deadline.isZero()) {
                throw new IllegalArgumentException("deadline must be positive, got " + deadline);
            }
            if (firstPoll.toMillis() < 1 || maxPoll.compareTo(firstPoll) < 0) {
                throw new IllegalArgumentException("polls must satisfy 1 ms <= firstPoll <= maxPoll, got " + firstPoll
                        + " and " + maxPoll);
            }
        }

        public Settings withIdleTimeout(Duration d) {
            return new Settings(deadline, firstPoll, maxPoll, Optional.of(d));
        }

        public Settings withPolls(Duration first, Duration max) {
            return new Settings(deadline, first, max, idleTimeout);
        }

        public Settings withDeadline(Duration d) {
            return new Settings(d, firstPoll, maxPoll, idleTimeout);
        }
    }

    private final ControlApi api;
    private final ComputeLiveness liveness;
    private final OperationSignal signal;
    private final Settings settings;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    /** Endpoints found in the metadata, with the spec given to the proxy. */
    private final Map<EndpointId, EndpointSpec> known = new ConcurrentHashMap<>();

    public ControlPlaneWake(ControlApi api, ComputeLiveness liveness, OperationSignal signal, Settings settings) {
        this.api = Objects.requireNonNull(api, "api is null");
        this.liveness = Objects.requireNonNull(liveness, "liveness is null");
        this.signal = Objects.requireNonNull(signal, "signal is null");
        this.settings = Objects.requireNonNull(settings, "settings is null");
    }

    public ControlApi api() {
        return api;
    }

    public Settings settings() {
        return settings;
    }

    /**
     * The endpoint's spec if the metadata knows it. The proxy looks an endpoint up at every client
     * connection: a known endpoint is remembered, so only the first connection to it reads the
     * metadata; one the metadata does not know is asked again each time (it may be created
     * meanwhile). Endpoints are deleted only through the API, after which a wake of a remembered one
     * fails with the API's "does not exist".
     *
     * @throws IllegalStateException if the metadata cannot be read (the message names the endpoint)
     */
    public Optional<EndpointSpec> find(EndpointId id) {
        EndpointSpec spec = known.get(id);
        if (spec != null) {
            return Optional.of(spec);
        }
        Optional<Endpoint> e;
        try {
            e = api.store().getEndpoint(id);
        } catch (SdkException | MetadataException x) {
            throw new IllegalStateException("endpoint " + id + ": the control plane's metadata could not be read ("
                    + x.getClass().getSimpleName() + ")", x);
        }
        if (e.isEmpty()) {
            return Optional.empty();
        }
        EndpointSpec found = EndpointSpec.of(id).withIdleTimeout(settings.idleTimeout().orElse(e.get().idleTimeout()));
        known.put(id, found);
        return Optional.of(found);
    }

    /** Whether the metadata knows the endpoint ({@link #find}). */
    public boolean known(EndpointId id) {
        return find(id).isPresent();
    }

    @Override
    public CompletableFuture<Optional<EndpointSpec>> lookup(EndpointId id) {
        EndpointSpec spec = known.get(id);
        if (spec != null) {
            return CompletableFuture.completedFuture(Optional.of(spec));
        }
        return CompletableFuture.supplyAsync(() -> find(id), executor);
    }

    @Override
    public CompletableFuture<ComputeAddress> wake(EndpointId id) {
        return CompletableFuture.supplyAsync(() -> wakeNow(id), executor);
    }

    @Override
    public CompletableFuture<Void> suspend(EndpointId id) {
        return CompletableFuture.runAsync(() -> suspendNow(id), executor);
    }

    /** The executor the calls run on (virtual threads), for callers that add their own work. */
    public ExecutorService executor() {
        return executor;
    }

    /** Blocks until the endpoint's compute runs (waking it through the workflow if needed); its address. */
    public ComputeAddress wakeNow(EndpointId id) {
        long deadline = System.nanoTime() + settings.deadline().toNanos();
        boolean retriedTransient = false;
        while (System.nanoTime() < deadline) {
            Endpoint e = endpoint(id);
            switch (e.state()) {
                case RUNNING -> {
                    if (liveness.runs(e)) {
                        return address(e);
                    }
                    log.info("endpoint={} is RUNNING in the metadata but its compute at {} does not run; suspending "
                            + "it before the wake", id, e.address().orElse("(no address)"));
                    Operation op = awaitScheduled(schedule(() -> api.suspendEndpoint(id)), deadline);
                    if (op != null && op.state() == OperationState.FAILED) {
                        throw new IllegalStateException("endpoint " + id + ": its compute does not run, and the suspend "
                                + "operation " + op.id() + " before a new wake failed: " + op.error().orElse("(no error recorded)"));
                    }
                }
                case SUSPENDED -> {
                    Operation op = awaitScheduled(schedule(() -> api.startEndpoint(id)), deadline);
                    if (op != null && op.state() == OperationState.FAILED && heldByAnother(op)) {
                        // another operation (a restore, a suspend) took the endpoint between the read
                        // above and this wake's first step: not a refusal; read it again and wait for that one
                        log.info("endpoint={} wake operation {} found the endpoint held by another operation; waiting "
                                + "for that one", id, op.id());
                        continue;
                    }
                    if (op != null && op.state() == OperationState.FAILED && transientFailure(op) && !retriedTransient) {
                        // e.g. its agent did not answer (a task that died): the compensation retired
                        // that agent, so a second wake takes another one. Once: a failure that
                        // persists (the pageserver is down) goes to the client.
                        retriedTransient = true;
                        log.warn("endpoint={} wake operation {} failed on something that may pass ({}); waking again",
                                id, op.id(), op.error().orElse("?"));
                        continue;
                    }
                    if (op != null && op.state() == OperationState.FAILED) {
                        log.warn("endpoint={} wake operation {} failed: {}", id, op.id(), op.error().orElse("?"));
                        throw new WakeRefusedException("endpoint " + id + ": wake operation " + op.id() + " failed: "
                                + clientSafe(op.error().orElse("(no error recorded)")));
                    }
                }
                case WAKING, SUSPENDING -> await(e.operation(), deadline); // another operation holds it
            }
        }
        throw new IllegalStateException("endpoint " + id + " did not come up within " + settings.deadline());
    }

    /**
     * Whether a failed operation failed only because another operation held its endpoint
     * ({@link EndpointBusyException}, recorded by the workflow as the error's type name).
     */
    static boolean heldByAnother(Operation op) {
        return failedWith(op, EndpointBusyException.class);
    }

    /**
     * Whether a failed operation failed on a {@link TransientStepException} that outlasted the
     * workflow's retries (recorded as the error's type name), e.g. an agent that did not answer.
     */
    static boolean transientFailure(Operation op) {
        return failedWith(op, TransientStepException.class);
    }

    /** Whether the operation's recorded error ({@code <type name>: <cause>}) is of {@code type}. */
    private static boolean failedWith(Operation op, Class<? extends Exception> type) {
        return op.error().map(e -> e.startsWith(type.getName())).orElse(false);
    }

    /** Suspends the endpoint through the suspend workflow if it is RUNNING; waits for the operation. */
    public void suspendNow(EndpointId id) {
        suspendNow(id, System.nanoTime() + settings.deadline().toNanos());
    }

    /** As {@link #suspendNow(EndpointId)}, bounded by {@code deadline} ({@link System#nanoTime}). */
    public void suspendNow(EndpointId id, long deadline) {
        Endpoint e = endpoint(id);
        switch (e.state()) {
            case RUNNING -> {
                Operation op = awaitScheduled(schedule(() -> api.suspendEndpoint(id)), deadline);
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

    private Endpoint endpoint(EndpointId id) {
        try {
            return api.endpoint(id);
        } catch (SdkException | MetadataException x) {
            throw new IllegalStateException("endpoint " + id + ": the control plane's metadata could not be read ("
                    + x.getClass().getSimpleName() + ")", x);
        }
    }

    /** The operation the call scheduled (or found scheduled), or empty if the endpoint moved meanwhile. */
    private static Optional<OperationId> schedule(Supplier<Operation> call) {
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
     * Waits until the operation ends (null if there is none, after a pause of 10 ms); the operation as
     * it ended. Reads the operation item, then waits for the {@link OperationSignal} at most the
     * current poll interval (doubling from {@link Settings#firstPoll} to {@link Settings#maxPoll})
     * and reads it again, until {@code deadline}.
     *
     * @throws IllegalStateException if it did not end by {@code deadline}
     */
    public Operation await(Optional<OperationId> id, long deadline) {
        return await(id, deadline, false);
    }

    /**
     * {@link #await(Optional, long)} for an operation this caller has just scheduled: it cannot
     * have ended yet, so the first read waits for the signal (or the first poll) instead of costing
     * a metadata read on the wake path.
     */
    private Operation awaitScheduled(Optional<OperationId> id, long deadline) {
        return await(id, deadline, true);
    }

    private Operation await(Optional<OperationId> id, long deadline, boolean justScheduled) {
        if (id.isEmpty()) {
            pause(CONFLICT_PAUSE);
            return null;
        }
        CompletableFuture<Void> ended = signal.ended(id.get());
        long pollNanos = settings.firstPoll().toNanos();
        try {
            if (justScheduled) {
                waitFor(ended, Math.min(pollNanos, Math.max(0, deadline - System.nanoTime())), id.get());
            }
            while (true) {
                Operation op;
                try {
                    op = api.operation(id.get());
                } catch (SdkException | MetadataException x) {
                    throw new IllegalStateException("operation " + id.get() + ": the control plane's metadata could "
                            + "not be read (" + x.getClass().getSimpleName() + ")", x);
                }
                if (op.state().isFinal()) {
                    return op;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new IllegalStateException("operation " + id.get() + " (" + op.kind() + ") is still "
                            + op.state() + " after " + settings.deadline());
                }
                waitFor(ended, Math.min(pollNanos, left), id.get());
                pollNanos = Math.min(pollNanos * 2, settings.maxPoll().toNanos());
            }
        } finally {
            signal.stopWaiting(id.get(), ended);
        }
    }

    /** Waits for the end signal at most {@code nanos}; a timeout just means "read it again". */
    private static void waitFor(CompletableFuture<Void> ended, long nanos, OperationId id) {
        try {
            ended.get(nanos, TimeUnit.NANOSECONDS);
        } catch (TimeoutException notYet) {
            // read it again: the launcher may not be the one running it
        } catch (ExecutionException e) {
            throw new IllegalStateException("waiting for operation " + id, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** At most this much of an operation's error goes to a client. */
    static final int MAX_CLIENT_ERROR = 200;

    /** Printable ASCII only, cut at {@link #MAX_CLIENT_ERROR} characters (the whole error is logged). */
    static String clientSafe(String error) {
        String s = error.replaceAll("[^\\x20-\\x7e]", "?");
        return s.length() > MAX_CLIENT_ERROR ? s.substring(0, MAX_CLIENT_ERROR) + "..." : s;
    }

    private static void pause(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    static ComputeAddress address(Endpoint e) {
        String a = e.address().orElseThrow(() -> new IllegalStateException("endpoint " + e.id()
                + " is RUNNING without an address"));
        int colon = a.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalStateException("endpoint " + e.id() + ": address '" + a + "' is not HOST:PORT");
        }
        try {
            return new ComputeAddress(a.substring(0, colon), Integer.parseInt(a.substring(colon + 1)));
        } catch (IllegalArgumentException bad) {
            throw new IllegalStateException("endpoint " + e.id() + ": address '" + a + "' is not HOST:PORT", bad);
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
