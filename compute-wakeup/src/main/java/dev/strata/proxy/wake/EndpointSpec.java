package dev.strata.proxy.wake;

import dev.strata.pgcore.id.EndpointId;

import java.time.Duration;
import java.util.Objects;

/**
 * What the control plane says about an endpoint the proxy may route to.
 *
 * @param idleTimeout how long the endpoint may have no client connections before the proxy
 *                    suspends it; null means the proxy's default (300 s)
 */
public record EndpointSpec(EndpointId id, Duration idleTimeout) {
    public EndpointSpec {
        Objects.requireNonNull(id, "id is null");
        if (idleTimeout != null && (idleTimeout.isNegative() || idleTimeout.isZero())) {
            throw new IllegalArgumentException("endpoint " + id + ": idle timeout must be positive: " + idleTimeout);
        }
    }

    public static EndpointSpec of(EndpointId id) {
        return new EndpointSpec(id, null);
    }

    public EndpointSpec withIdleTimeout(Duration timeout) {
        return new EndpointSpec(id, timeout);
    }
}
