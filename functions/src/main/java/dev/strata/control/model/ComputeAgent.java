package dev.strata.control.model;

import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import java.util.Objects;
import java.util.Optional;

/**
 * A compute agent of the warm pool: a running task that can start Postgres for any endpoint.
 * CLAIMED exactly when it serves an endpoint ({@code claimedBy}).
 */
public record ComputeAgent(NodeId id, String address, AgentState state, Optional<EndpointId> claimedBy, long version)
        implements Versioned {

    public ComputeAgent {
        Objects.requireNonNull(id, "id is null");
        Names.check("agent address", address, Names.MAX_ADDRESS_LENGTH);
        Objects.requireNonNull(state, "state is null");
        Objects.requireNonNull(claimedBy, "claimedBy is null");
        if ((state == AgentState.CLAIMED) != claimedBy.isPresent()) {
            throw new IllegalArgumentException("agent " + id + ": " + state + " with claimedBy " + claimedBy);
        }
        Names.checkVersion(version);
    }

    /** A new agent, IDLE in the pool. */
    public static ComputeAgent idle(NodeId id, String address) {
        return new ComputeAgent(id, address, AgentState.IDLE, Optional.empty(), 0);
    }

    public ComputeAgent claimedBy(EndpointId endpoint) {
        return new ComputeAgent(id, address, AgentState.CLAIMED, Optional.of(endpoint), version);
    }

    public ComputeAgent released() {
        return new ComputeAgent(id, address, AgentState.IDLE, Optional.empty(), version);
    }

    public ComputeAgent retired() {
        return new ComputeAgent(id, address, AgentState.RETIRED, Optional.empty(), version);
    }

    public ComputeAgent withVersion(long v) {
        return new ComputeAgent(id, address, state, claimedBy, v);
    }
}
