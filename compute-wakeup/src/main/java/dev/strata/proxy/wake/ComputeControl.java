package dev.strata.proxy.wake;

import dev.strata.pgcore.id.EndpointId;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The proxy's view of the control plane: which endpoints exist, and starting and stopping
 * their computes. The local cluster implements it by starting a PostgreSQL process; on AWS
 * the wake function does (architecture §6, §7).
 *
 * <p>The proxy calls these from its event loops and never blocks on them: an
 * implementation that blocks must run the work on its own executor and complete the future
 * from there. The proxy bounds every call with its own timeouts, retries {@link #wake}
 * with backoff, and makes at most one {@code wake} per endpoint at a time.
 */
public interface ComputeControl {

    /** The endpoint's settings, or empty if there is no such endpoint (the client gets SQLSTATE 3D000). */
    CompletableFuture<Optional<EndpointSpec>> lookup(EndpointId endpoint);

    /**
     * Makes sure the endpoint's compute runs and completes with its address once it accepts
     * connections. Must be idempotent: for a compute already running it just completes with
     * the address. A failed future is retried until the proxy's wake timeout, unless it failed
     * with {@link WakeRefusedException} (the control plane's definitive "this wake failed").
     */
    CompletableFuture<ComputeAddress> wake(EndpointId endpoint);

    /**
     * Stops the endpoint's compute because it had no client connections for its idle
     * timeout. Completes when the compute is stopped; the next connection calls {@link #wake}.
     */
    CompletableFuture<Void> suspend(EndpointId endpoint);
}
