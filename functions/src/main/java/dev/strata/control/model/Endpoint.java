package dev.strata.control.model;

import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.ProjectId;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * An endpoint: what a client connects to, serving one branch. While WAKING, RUNNING or
 * SUSPENDING it holds a compute agent from the pool; while RUNNING its compute's address is
 * known (the proxy connects there). {@code operation} is the operation that last moved it out of
 * SUSPENDED or RUNNING (the wake that holds it WAKING, the suspend that holds it SUSPENDING): a step
 * or compensation acts on the endpoint only while its own operation holds it, so a wake that lost
 * the race to another never undoes the winner's work (docs/control-plane.md#handlers).
 */
public record Endpoint(EndpointId id, ProjectId project, BranchId branch, ComputeSettings compute, EndpointState state,
                       Optional<String> address, Optional<NodeId> agent, Duration idleTimeout,
                       Optional<OperationId> operation, long version)
        implements Versioned {

    public static final Duration MIN_IDLE_TIMEOUT = Duration.ofSeconds(1);
    public static final Duration MAX_IDLE_TIMEOUT = Duration.ofDays(7);

    public Endpoint {
        Objects.requireNonNull(id, "id is null");
        Objects.requireNonNull(project, "project is null");
        Objects.requireNonNull(branch, "branch is null");
        Objects.requireNonNull(compute, "compute is null");
        Objects.requireNonNull(state, "state is null");
        Objects.requireNonNull(address, "address is null");
        address.ifPresent(a -> Names.check("endpoint address", a, Names.MAX_ADDRESS_LENGTH));
        Objects.requireNonNull(agent, "agent is null");
        Objects.requireNonNull(idleTimeout, "idleTimeout is null");
        Objects.requireNonNull(operation, "operation is null");
        if (idleTimeout.compareTo(MIN_IDLE_TIMEOUT) < 0 || idleTimeout.compareTo(MAX_IDLE_TIMEOUT) > 0) {
            throw new IllegalArgumentException("endpoint " + id + ": idle timeout must be " + MIN_IDLE_TIMEOUT + " to "
                    + MAX_IDLE_TIMEOUT + ", got " + idleTimeout);
        }
        if (state == EndpointState.RUNNING && address.isEmpty()) {
            throw new IllegalArgumentException("endpoint " + id + " is RUNNING without an address");
        }
        if (state == EndpointState.SUSPENDED && (address.isPresent() || agent.isPresent() || operation.isPresent())) {
            throw new IllegalArgumentException("endpoint " + id
                    + " is SUSPENDED but still has an address, an agent or an operation");
        }
        if (state != EndpointState.SUSPENDED && agent.isEmpty()) {
            throw new IllegalArgumentException("endpoint " + id + " is " + state + " without a compute agent");
        }
        Names.checkVersion(version);
    }

    /** A new endpoint, suspended. */
    public static Endpoint create(EndpointId id, ProjectId project, BranchId branch, ComputeSettings compute,
                                  Duration idleTimeout) {
        return new Endpoint(id, project, branch, compute, EndpointState.SUSPENDED, Optional.empty(), Optional.empty(),
                idleTimeout, Optional.empty(), 0);
    }

    /** WAKING with the agent claimed for it, held by no operation (tests of the store). */
    public Endpoint waking(NodeId claimedAgent) {
        return new Endpoint(id, project, branch, compute, EndpointState.WAKING, Optional.empty(),
                Optional.of(claimedAgent), idleTimeout, Optional.empty(), version);
    }

    /** WAKING with the agent claimed for it, held by the wake {@code op}. */
    public Endpoint waking(NodeId claimedAgent, OperationId op) {
        return new Endpoint(id, project, branch, compute, EndpointState.WAKING, Optional.empty(),
                Optional.of(claimedAgent), idleTimeout, Optional.of(op), version);
    }

    /** Whether {@code op} holds the endpoint (moved it to its current state). */
    public boolean heldBy(OperationId op) {
        return operation.equals(Optional.of(op));
    }

    /** RUNNING at {@code computeAddress}. */
    public Endpoint running(String computeAddress) {
        return new Endpoint(id, project, branch, compute, EndpointState.RUNNING, Optional.of(computeAddress), agent,
                idleTimeout, operation, version);
    }

    /** SUSPENDING: the address stays until the compute is stopped. */
    public Endpoint suspending() {
        return new Endpoint(id, project, branch, compute, EndpointState.SUSPENDING, address, agent, idleTimeout,
                operation, version);
    }

    /** SUSPENDING, held by the suspend {@code op}. */
    public Endpoint suspending(OperationId op) {
        return new Endpoint(id, project, branch, compute, EndpointState.SUSPENDING, address, agent, idleTimeout,
                Optional.of(op), version);
    }

    /** SUSPENDED: no address, no agent. */
    public Endpoint suspended() {
        return new Endpoint(id, project, branch, compute, EndpointState.SUSPENDED, Optional.empty(), Optional.empty(),
                idleTimeout, Optional.empty(), version);
    }

    public Endpoint withCompute(ComputeSettings c) {
        return new Endpoint(id, project, branch, c, state, address, agent, idleTimeout, operation, version);
    }

    public Endpoint withIdleTimeout(Duration d) {
        return new Endpoint(id, project, branch, compute, state, address, agent, d, operation, version);
    }

    public Endpoint withVersion(long v) {
        return new Endpoint(id, project, branch, compute, state, address, agent, idleTimeout, operation, v);
    }
}
