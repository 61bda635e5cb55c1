package dev.strata.control.service;

import dev.strata.control.EndpointBusyException;
import dev.strata.control.StepFailedException;
import dev.strata.control.TransientStepException;
import dev.strata.control.compute.ComputeProvisioner;
import dev.strata.control.metadata.MetadataException;
import dev.strata.control.metadata.MetadataStore;
import dev.strata.control.model.AgentState;
import dev.strata.control.model.Branch;
import dev.strata.control.model.ComputeAgent;
import dev.strata.control.model.Endpoint;
import dev.strata.control.model.EndpointState;
import dev.strata.control.model.Operation;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationKind;
import dev.strata.control.storage.Election;
import dev.strata.control.storage.StorageControl;
import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.ProjectId;
import dev.strata.pgcore.lsn.Lsn;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The steps of the wake (StartCompute) and suspend (SuspendCompute) workflows and their
 * compensations. Each changes at most one metadata item per conditional write, in an order whose
 * every prefix a replay recognises (docs/control-plane.md#handlers).
 *
 * <p>Ownership: the wake that moves an endpoint SUSPENDED -> WAKING, and the suspend that moves it
 * RUNNING -> SUSPENDING, write their operation id into it ({@link Endpoint#operation()}). Every
 * later step and compensation first checks that its operation still holds the endpoint: a wake that
 * lost the race to another one, or came during a suspend, fails with {@link EndpointBusyException}
 * and its compensations leave the endpoint alone.
 */
public final class ComputeSteps {

    private static final Logger log = LoggerFactory.getLogger(ComputeSteps.class);

    private static final Set<OperationKind> WAKE_OR_SUSPEND = Set.of(OperationKind.START_COMPUTE,
            OperationKind.SUSPEND_COMPUTE, OperationKind.RESTORE_BRANCH, OperationKind.DELETE_BRANCH);
    /** Operations that wake an endpoint: a wake, and a restore restarting the branch's endpoint. */
    private static final Set<OperationKind> WAKES = Set.of(OperationKind.START_COMPUTE, OperationKind.RESTORE_BRANCH);
    /** Operations that stop an endpoint: a suspend, a restore restarting it, a delete-branch. */
    private static final Set<OperationKind> SUSPENDS = Set.of(OperationKind.SUSPEND_COMPUTE,
            OperationKind.RESTORE_BRANCH, OperationKind.DELETE_BRANCH);

    private static final int RELEASE_ATTEMPTS = 5;
    /** Agents one wake may launch, each after another wake claimed the one before (a race of empty pools). */
    static final int LAUNCHES_PER_WAKE = 3;

    private final MetadataStore store;
    private final Operations operations;
    private final Supplier<ComputeProvisioner> compute;
    private final Supplier<StorageControl> storage;

    public ComputeSteps(MetadataStore store, Operations operations, Supplier<ComputeProvisioner> compute,
                        Supplier<StorageControl> storage) {
        this.store = Objects.requireNonNull(store, "store is null");
        this.operations = Objects.requireNonNull(operations, "operations is null");
        this.compute = Objects.requireNonNull(compute, "compute is null");
        this.storage = Objects.requireNonNull(storage, "storage is null");
    }

    // ---------------------------------------------------------------- wake

    /**
     * ClaimAgent: marks the operation RUNNING as {@code executionArn} (taking it over from the dead
     * execution {@code recovers}, docs/control-plane.md#crash-recovery), claims an idle agent (or
     * launches one if the pool is empty) and moves the endpoint SUSPENDED -> WAKING held by this
     * operation. Replayed after it succeeded: the agent the endpoint holds for this operation, claimed
     * again if a compensation that a crash interrupted had given it back (or another one, if it has
     * been claimed since).
     */
    public NodeId claimAgent(OperationId opId, EndpointId endpointId, ProjectId project, BranchId branch,
                             String executionArn, Optional<String> recovers) {
        Operation op = operations.start(opId, WAKES, executionArn, recovers);
        requireTarget(op, endpointId);
        Endpoint ep = endpoint(endpointId);
        if (!ep.project().equals(project) || !ep.branch().equals(branch)) {
            throw new StepFailedException("endpoint " + endpointId + " serves " + ep.project() + "/" + ep.branch()
                    + ", not " + project + "/" + branch);
        }
        if (ep.heldBy(opId) && ep.state() == EndpointState.WAKING) {
            return reclaim(opId, ep);
        }
        if (ep.state() != EndpointState.SUSPENDED) {
            throw busy(ep);
        }
        ComputeAgent agent = store.claimAgent(endpointId).orElseGet(() -> launchAgent(opId, endpointId));
        try {
            return store.updateEndpoint(ep, ep.waking(agent.id(), opId)).agent().orElseThrow();
        } catch (MetadataException.VersionConflict lost) {
            Endpoint now = endpoint(endpointId);
            if (now.heldBy(opId) && now.agent().equals(Optional.of(agent.id()))) {
                return agent.id();
            }
            // another operation has the endpoint: give the agent back unless the endpoint uses it
            // (a concurrent wake found the same claimed agent)
            if (!now.agent().equals(Optional.of(agent.id()))) {
                releaseIfClaimedBy(agent.id(), endpointId);
            }
            throw busy(now);
        }
    }

    /**
     * The agent of the endpoint {@code opId} holds WAKING, still claimed by it. A wake whose
     * ReleaseAgent ran before the engine died holds the endpoint with an agent back in the pool:
     * claimed again if still idle, else (another endpoint claimed it since) another agent claimed and
     * written into the endpoint.
     */
    private NodeId reclaim(OperationId opId, Endpoint ep) {
        NodeId held = ep.agent().orElseThrow();
        ComputeAgent a = agent(held);
        if (a.claimedBy().equals(Optional.of(ep.id()))) {
            return held;
        }
        if (a.state() == AgentState.IDLE) {
            try {
                store.updateAgent(a, a.claimedBy(ep.id()));
                return held;
            } catch (MetadataException.VersionConflict taken) {
                // claimed by another wake meanwhile: take another one below
            }
        }
        ComputeAgent other = store.claimAgent(ep.id()).orElseGet(() -> launchAgent(opId, ep.id()));
        try {
            return store.updateEndpoint(ep, ep.waking(other.id(), opId)).agent().orElseThrow();
        } catch (MetadataException.VersionConflict lost) {
            releaseIfClaimedBy(other.id(), ep.id());
            throw busy(endpoint(ep.id()));
        }
    }

    /**
     * The agent this wake launched, launching it if it has not: the launched agent joins the pool
     * (on AWS it registers itself IDLE once its task runs, docs/aws.md "Compute pool"), so another
     * wake whose pool was empty too may claim it first; then this wake launches its next one, at
     * most {@link #LAUNCHES_PER_WAKE} in all.
     */
    private ComputeAgent launchAgent(OperationId opId, EndpointId endpointId) {
        for (int n = 1; n <= LAUNCHES_PER_WAKE; n++) {
            NodeId id = StepIds.launchedAgent(opId, n);
            Optional<ComputeAgent> existing = store.getAgent(id);
            if (existing.isEmpty()) {
                String address = compute.get().launchAgent(id);
                return store.registerAgent(new ComputeAgent(id, address, AgentState.CLAIMED, Optional.of(endpointId),
                        0));
            }
            ComputeAgent a = existing.get();
            if (a.claimedBy().equals(Optional.of(endpointId))) {
                return a;
            }
            if (a.state() == AgentState.IDLE) {
                try {
                    return store.updateAgent(a, a.claimedBy(endpointId));
                } catch (MetadataException.VersionConflict taken) {
                    // claimed by another wake this very moment: launch the next one
                }
            }
            log.info("agent {} launched for {} is {}{}; launching another", id, opId, a.state(),
                    a.claimedBy().map(e -> " by " + e).orElse(""));
        }
        throw new TransientStepException("the " + LAUNCHES_PER_WAKE + " agents launched for " + opId
                + " were claimed by other wakes or retired; the wake retries the pool");
    }

    /** Elect: the safekeeper election for the endpoint's branch, on behalf of the claimed agent. */
    public Election elect(OperationId opId, EndpointId endpointId, BranchId branchId, NodeId agentId) {
        Endpoint ep = requireHeld(opId, endpointId, EndpointState.WAKING, agentId);
        Branch b = branch(ep, branchId);
        if (b.state() == dev.strata.control.model.BranchState.DELETING) {
            throw new StepFailedException("branch " + b.name() + " (" + b.id() + ") is being deleted");
        }
        return storage.get().elect(b.timeline(), agentId);
    }

    /** StartPostgres: the agent fetches the basebackup at the elected LSN and starts Postgres. */
    public String startPostgres(OperationId opId, EndpointId endpointId, BranchId branchId, NodeId agentId, long term,
                                Lsn startLsn) {
        Endpoint ep = requireHeld(opId, endpointId, EndpointState.WAKING, agentId);
        Branch b = branch(ep, branchId);
        return compute.get().startPostgres(agent(agentId), endpointId, b.timeline(), term, startLsn);
    }

    /** MarkRunning: WAKING -> RUNNING at {@code address}, then the operation SUCCEEDED. */
    public Endpoint markRunning(OperationId opId, EndpointId endpointId, NodeId agentId, String address) {
        Operation op = operations.require(opId, WAKES);
        Endpoint ep = endpoint(endpointId);
        Endpoint running;
        if (ep.heldBy(opId) && ep.state() == EndpointState.RUNNING && ep.agent().equals(Optional.of(agentId))
                && ep.address().equals(Optional.of(address))) {
            running = ep;
        } else {
            requireHeld(ep, opId, EndpointState.WAKING, agentId);
            running = store.updateEndpoint(ep, ep.running(address));
        }
        if (op.kind() == OperationKind.START_COMPUTE) {
            operations.succeed(op); // a restore completes later, in its own last step
        }
        return running;
    }

    /**
     * ReleaseAgent (wake compensation) and ReturnAgent (suspend): the agent back to the pool,
     * CLAIMED -> IDLE, if this operation holds the endpoint with it; a wake's compensation first
     * stops Postgres in case it started. Returns the agent as it is afterwards (a replay reads the
     * same); an endpoint this operation does not hold is left alone, and so is its agent.
     */
    public ComputeAgent releaseAgent(OperationId opId, EndpointId endpointId, NodeId agentId) {
        Operation op = operations.require(opId, WAKE_OR_SUSPEND);
        Endpoint ep = endpoint(endpointId);
        if (!ep.heldBy(opId)) {
            return agent(agentId);
        }
        EndpointState expected = switch (op.kind()) {
            case START_COMPUTE -> EndpointState.WAKING;
            // a restore restarts the endpoint: its suspend returns the agent, its wake's compensation too
            case RESTORE_BRANCH -> ep.state() == EndpointState.WAKING ? EndpointState.WAKING : EndpointState.SUSPENDING;
            default -> EndpointState.SUSPENDING;
        };
        requireHeld(ep, opId, expected, agentId);
        if (expected == EndpointState.WAKING) {
            ComputeAgent a = agent(agentId);
            if (a.claimedBy().equals(Optional.of(endpointId))) {
                try {
                    compute.get().stopPostgres(a, endpointId);
                } catch (TransientStepException noAnswer) {
                    // Its task or process died, or it hangs: taken out of the pool, not given
                    // back, since an IDLE item at a dead address would be claimed by every later
                    // wake and each would fail the same way. The compensation goes on; the next
                    // wake takes another agent (or launches one).
                    log.warn("agent {} at {} did not answer the stop of endpoint {} after a failed wake; "
                            + "retiring it: {}", a.id(), a.address(), endpointId, noAnswer.getMessage());
                    return retire(a, endpointId);
                }
            } else if (a.state() == AgentState.RETIRED) {
                return retire(a, endpointId); // a replay after the retirement above
            }
        }
        releaseIfClaimedBy(agentId, endpointId);
        return agent(agentId);
    }

    /**
     * MarkEndpointSuspended (wake compensation) and MarkSuspended (suspend's last step): the endpoint
     * this operation holds goes to SUSPENDED (a wake's agent, if still claimed, back to the pool
     * first); for a suspend the operation then SUCCEEDS. An endpoint another operation holds is left
     * as it is (the wake lost a race: nothing of it to undo).
     */
    public Endpoint markSuspended(OperationId opId, EndpointId endpointId) {
        Operation op = operations.require(opId, WAKE_OR_SUSPEND);
        boolean wake = op.kind() == OperationKind.START_COMPUTE;
        Endpoint ep = endpoint(endpointId);
        Endpoint result;
        if (ep.heldBy(opId)) {
            boolean waking = ep.state() == EndpointState.WAKING;
            if (wake || (op.kind() == OperationKind.RESTORE_BRANCH && waking)) {
                requireState(ep, EndpointState.WAKING);
                ep.agent().ifPresent(a -> releaseIfClaimedBy(a, endpointId));
            } else {
                requireState(ep, EndpointState.SUSPENDING);
            }
            result = store.updateEndpoint(ep, ep.suspended());
        } else if (op.kind() != OperationKind.SUSPEND_COMPUTE || ep.state() == EndpointState.SUSPENDED) {
            result = ep; // not ours (a lost race), or a replay after our write
        } else {
            throw busy(ep);
        }
        if (op.kind() == OperationKind.SUSPEND_COMPUTE) {
            operations.succeed(op); // a restore or delete-branch completes in its own last step
        }
        return result;
    }

    // ---------------------------------------------------------------- suspend

    /**
     * CheckActivity: marks the operation RUNNING as {@code executionArn} (taking it over from the
     * dead execution {@code recovers}, docs/control-plane.md#crash-recovery); the endpoint must be
     * RUNNING on {@code agentId}; returns the sessions its Postgres has open. An endpoint this
     * operation already holds SUSPENDING (a recovery after MarkSuspending) reports none: the suspend
     * was decided, the rest of it finishes the stop.
     */
    public int checkActivity(OperationId opId, EndpointId endpointId, NodeId agentId, String executionArn,
                             Optional<String> recovers) {
        Operation op = operations.start(opId, Set.of(OperationKind.SUSPEND_COMPUTE), executionArn, recovers);
        requireTarget(op, endpointId);
        Endpoint ep = endpoint(endpointId);
        if (ep.heldBy(opId) && ep.state() == EndpointState.SUSPENDING && ep.agent().equals(Optional.of(agentId))) {
            return 0;
        }
        if (ep.state() != EndpointState.RUNNING || !ep.agent().equals(Optional.of(agentId))) {
            throw busy(ep);
        }
        return compute.get().sessions(agent(agentId), endpointId);
    }

    /** MarkSuspending: RUNNING on {@code agentId} -> SUSPENDING held by this operation. */
    public Endpoint markSuspending(OperationId opId, EndpointId endpointId, NodeId agentId) {
        Operation op = operations.require(opId, SUSPENDS);
        if (op.kind() != OperationKind.SUSPEND_COMPUTE) {
            requireTarget(op, endpointId);
        }
        Endpoint ep = endpoint(endpointId);
        if (ep.heldBy(opId) && ep.state() == EndpointState.SUSPENDING) {
            return ep;
        }
        if (ep.state() != EndpointState.RUNNING || !ep.agent().equals(Optional.of(agentId))) {
            throw busy(ep);
        }
        return store.updateEndpoint(ep, ep.suspending(opId));
    }

    /** StopPostgres: the compute of the endpoint this operation holds SUSPENDING. */
    public void stopPostgres(OperationId opId, EndpointId endpointId, NodeId agentId) {
        requireHeld(opId, endpointId, EndpointState.SUSPENDING, agentId);
        compute.get().stopPostgres(agent(agentId), endpointId);
    }

    /**
     * MarkEndpointFailed (suspend compensation): Postgres may or may not have stopped, so the agent is
     * quarantined (CLAIMED -> RETIRED, then the provisioner discards it) and the endpoint goes to
     * SUSPENDED; the next wake starts a fresh compute on another agent. An agent ReturnAgent already
     * gave back is not retired. Returns the endpoint afterwards (a replay reads the same); nothing
     * happens to an endpoint this operation does not hold.
     */
    public Endpoint markEndpointFailed(OperationId opId, EndpointId endpointId, NodeId agentId) {
        operations.require(opId, SUSPENDS);
        Endpoint ep = endpoint(endpointId);
        if (!ep.heldBy(opId)) {
            return ep;
        }
        requireHeld(ep, opId, EndpointState.SUSPENDING, agentId);
        retire(agent(agentId), endpointId);
        return store.updateEndpoint(ep, ep.suspended());
    }

    /**
     * Quarantines an agent: CLAIMED by {@code endpointId} -> RETIRED, then the provisioner discards
     * it. A RETIRED agent is discarded again (a replay: the provisioner's retire is idempotent).
     * Returns the agent as it is afterwards.
     */
    private ComputeAgent retire(ComputeAgent a, EndpointId endpointId) {
        if (a.claimedBy().equals(Optional.of(endpointId))) {
            a = store.updateAgent(a, a.retired());
        }
        if (a.state() == AgentState.RETIRED) {
            compute.get().retireAgent(a);
        }
        return a;
    }

    // ---------------------------------------------------------------- helpers

    /**
     * The agent back to the pool if it is still claimed by the endpoint. Another release (a
     * concurrent loser of the same race that found the same agent) may change it between the read
     * and the write: read again, at most {@link #RELEASE_ATTEMPTS} times, rather than leave the
     * step to a retry that no longer knows which agent it claimed.
     */
    private void releaseIfClaimedBy(NodeId agentId, EndpointId endpointId) {
        for (int attempt = 1; ; attempt++) {
            Optional<ComputeAgent> a = store.getAgent(agentId);
            if (a.isEmpty() || !a.get().claimedBy().equals(Optional.of(endpointId))) {
                return;
            }
            try {
                store.updateAgent(a.get(), a.get().released());
                return;
            } catch (MetadataException.VersionConflict changed) {
                if (attempt == RELEASE_ATTEMPTS) {
                    throw changed;
                }
            }
        }
    }

    private static void requireTarget(Operation op, EndpointId endpointId) {
        if (!op.endpoint().equals(Optional.of(endpointId))) {
            throw new StepFailedException("operation " + op.id() + " is for endpoint "
                    + op.endpoint().map(Object::toString).orElse("(none)") + ", not " + endpointId);
        }
    }

    private Endpoint endpoint(EndpointId id) {
        return store.getEndpoint(id).orElseThrow(() -> new StepFailedException("endpoint " + id + " does not exist"));
    }

    private ComputeAgent agent(NodeId id) {
        return store.getAgent(id).orElseThrow(() -> new StepFailedException("agent " + id + " does not exist"));
    }

    private Branch branch(Endpoint ep, BranchId branchId) {
        if (!ep.branch().equals(branchId)) {
            throw new StepFailedException("endpoint " + ep.id() + " serves branch " + ep.branch() + ", not " + branchId);
        }
        return store.getBranch(ep.project(), branchId).orElseThrow(
                () -> new StepFailedException("branch " + branchId + " of " + ep.project() + " does not exist"));
    }

    private Endpoint requireHeld(OperationId opId, EndpointId endpointId, EndpointState state, NodeId agentId) {
        Endpoint ep = endpoint(endpointId);
        requireHeld(ep, opId, state, agentId);
        return ep;
    }

    private static void requireHeld(Endpoint ep, OperationId opId, EndpointState state, NodeId agentId) {
        if (!ep.heldBy(opId)) {
            throw busy(ep);
        }
        requireState(ep, state);
        if (!ep.agent().equals(Optional.of(agentId))) {
            throw new StepFailedException("endpoint " + ep.id() + " holds agent "
                    + ep.agent().map(Object::toString).orElse("(none)") + ", not " + agentId);
        }
    }

    private static void requireState(Endpoint ep, EndpointState state) {
        if (ep.state() != state) {
            throw new StepFailedException("endpoint " + ep.id() + " is " + ep.state() + ", expected " + state);
        }
    }

    private static EndpointBusyException busy(Endpoint ep) {
        return new EndpointBusyException("endpoint " + ep.id() + " is " + ep.state()
                + ep.operation().map(o -> " (held by operation " + o + ")").orElse(""));
    }
}
