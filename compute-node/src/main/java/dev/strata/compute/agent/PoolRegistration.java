package dev.strata.compute.agent;

import dev.strata.control.metadata.MetadataException;
import dev.strata.control.metadata.MetadataStore;
import dev.strata.control.model.AgentState;
import dev.strata.control.model.ComputeAgent;
import dev.strata.pgcore.id.NodeId;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's item in the warm pool of the control plane's metadata (docs/control-plane.md,
 * "compute agents"): an agent started with the metadata table configured puts itself there IDLE at
 * its API address, so the wake workflow's ClaimAgent can claim it, and takes itself out at a clean
 * stop (ECS stops a task with SIGTERM).
 *
 * <p><b>Idempotent on restart</b> (the same id): an IDLE item is kept (its address updated if it
 * moved); a CLAIMED one is kept claimed, its address updated: the metadata still says an endpoint
 * runs here, and that endpoint's next wake finds its compute gone and suspends it through the
 * suspend workflow, which returns this agent to the pool (the proxy's path for a dead compute). A
 * RETIRED item (quarantined by a failed suspend; final) is replaced by a fresh IDLE one: a process
 * starting under that id is a new agent with an empty data directory. Every write is the store's
 * conditional write, so two registrations racing (a restart while the old process still stops) end
 * with one item.
 */
public final class PoolRegistration {

    private static final Logger log = LoggerFactory.getLogger(PoolRegistration.class);
    /** Rounds of read-then-conditional-write before giving up (each loses only to a concurrent writer). */
    private static final int ATTEMPTS = 5;

    private final MetadataStore store;
    private final NodeId id;
    private final String address;

    /**
     * @param address the agent API's {@code host:port} as the control plane's steps reach it (the
     *                task's private IP on AWS)
     */
    public PoolRegistration(MetadataStore store, NodeId id, String address) {
        this.store = Objects.requireNonNull(store, "store is null");
        this.id = Objects.requireNonNull(id, "id is null");
        this.address = Objects.requireNonNull(address, "address is null");
        ComputeAgent.idle(id, address); // checks the address now, not at the first write
    }

    /**
     * The agent id a task takes by default: {@code agent-} and its advertised host, lower case,
     * with every character other than a-z and 0-9 as {@code -} (a task's private IP is unique in
     * its VPC while it runs), cut to {@link NodeId}'s 63 characters.
     */
    public static NodeId defaultId(String advertisedHost) {
        String s = "agent-" + advertisedHost.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "-");
        return NodeId.of(s.length() > 63 ? s.substring(0, 63) : s);
    }

    public NodeId id() {
        return id;
    }

    /** Puts the agent in the pool (see the class comment); the item as stored. */
    public ComputeAgent register() {
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            Optional<ComputeAgent> read = store.getAgent(id);
            try {
                if (read.isEmpty()) {
                    ComputeAgent a = store.registerAgent(ComputeAgent.idle(id, address));
                    log.info("agent={} registered IDLE in the warm pool at {}", id, address);
                    return a;
                }
                ComputeAgent a = read.get();
                switch (a.state()) {
                    case IDLE, CLAIMED -> {
                        if (a.address().equals(address)) {
                            log.info("agent={} already in the warm pool ({}{}) at {}", id, a.state(),
                                    a.claimedBy().map(e -> " by " + e).orElse(""), address);
                            return a;
                        }
                        ComputeAgent moved = store.updateAgent(a, new ComputeAgent(id, address, a.state(),
                                a.claimedBy(), a.version()));
                        log.info("agent={} in the warm pool ({}) moved from {} to {}", id, a.state(), a.address(), address);
                        return moved;
                    }
                    case RETIRED -> {
                        store.deleteAgent(a);
                        log.info("agent={} was RETIRED in the warm pool; registering it afresh", id);
                    }
                }
            } catch (MetadataException.AlreadyExists | MetadataException.VersionConflict
                     | MetadataException.NotFound raced) {
                log.debug("agent={} registration raced another writer ({}); reading again", id, raced.getMessage());
            }
        }
        throw new IllegalStateException("agent " + id + ": could not register in the warm pool after " + ATTEMPTS
                + " attempts: its item keeps changing under concurrent writers");
    }

    /**
     * The agent's item as stored now (a consistent read); empty if it is not in the pool.
     *
     * @throws dev.strata.control.metadata.MetadataException if DynamoDB cannot be read
     */
    public Optional<ComputeAgent> read() {
        return store.getAgent(id);
    }

    /**
     * Takes the agent out of the pool at a clean stop if it is IDLE (a wake can no longer claim a
     * stopping agent); a CLAIMED item is left for the endpoint's suspend. Returns whether it was
     * removed; a failure is logged, not thrown (the process is stopping anyway).
     */
    public boolean deregister() {
        Optional<ComputeAgent> read;
        try {
            read = store.getAgent(id);
        } catch (RuntimeException e) {
            log.warn("agent={} could not leave the warm pool: {}", id, e.getMessage());
            return false;
        }
        if (read.isPresent() && read.get().state() == AgentState.IDLE && read.get().address().equals(address)) {
            return deregister(read.get());
        }
        read.ifPresent(a -> log.info("agent={} stops {} in the warm pool; left for the control plane", id, a.state()));
        return false;
    }

    /**
     * Takes the agent out of the pool only if its item is still exactly {@code seen}, an IDLE item
     * at this agent's address: the delete is conditional on {@code seen}'s version, so a wake that
     * claimed the agent since (or claimed and released it) makes it fail and the agent stays in the
     * pool. Returns whether it was removed; a failure is logged, not thrown.
     */
    public boolean deregister(ComputeAgent seen) {
        if (!seen.id().equals(id) || seen.state() != AgentState.IDLE || !seen.address().equals(address)) {
            log.info("agent={} not taken out of the warm pool: its item {} at {} is not this agent's IDLE item",
                    id, seen.state(), seen.address());
            return false;
        }
        try {
            store.deleteAgent(seen);
            log.info("agent={} left the warm pool", id);
            return true;
        } catch (MetadataException.VersionConflict | MetadataException.NotFound changed) {
            log.info("agent={} not taken out of the warm pool: its item changed since version {} ({})", id,
                    seen.version(), changed.getMessage());
            return false;
        } catch (RuntimeException e) {
            log.warn("agent={} could not leave the warm pool: {}", id, e.getMessage());
            return false;
        }
    }
}
