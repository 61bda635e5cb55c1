package dev.strata.proxy.wake;

import dev.strata.pgcore.id.EndpointId;

import java.time.Instant;

/**
 * One endpoint as the proxy sees it, for {@code strata status}.
 *
 * @param address      the compute's address while RUNNING, else null
 * @param lastActivity when a client connection last opened, closed or relayed bytes
 * @param wakes        how many wakes succeeded since the proxy started
 */
public record EndpointStatus(EndpointId endpoint, EndpointState state, int openConnections,
                             Instant lastActivity, ComputeAddress address, long wakes) {
}
