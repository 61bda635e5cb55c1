package dev.strata.proxy.routing;

import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.protocol.FrontendMessage;

import java.util.Objects;

/** Where a client goes: its endpoint, and the startup packet to forward (endpoint option removed). */
public record Route(EndpointId endpoint, FrontendMessage.StartupMessage forwardedStartup) {
    public Route {
        Objects.requireNonNull(endpoint, "endpoint is null");
        Objects.requireNonNull(forwardedStartup, "forwardedStartup is null");
    }
}
