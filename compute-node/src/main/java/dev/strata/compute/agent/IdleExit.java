package dev.strata.compute.agent;

import dev.strata.control.model.ComputeAgent;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * When an on-demand ("burst") agent leaves the warm pool: a wake that found no IDLE agent starts
 * a standalone task, and once that agent's item has stayed IDLE, unchanged, for the given time,
 * the agent takes itself out of the pool so that its process can exit and the extra capacity goes
 * away. The pool's service tasks never use this (ECS would only replace them).
 *
 * <p>Each {@link #check()} reads the item and decides; the caller runs it periodically and exits
 * on true (no threads here, so tests drive it with their own clock). The timer runs while the item
 * is IDLE at one version: every write to the item (a claim, the release after a suspend, a moved
 * address) changes the version and restarts it. A CLAIMED item stops it; so does a missing or
 * RETIRED one, and on those the agent never leaves on its own (logged; the control plane decides
 * what becomes of it). A read that fails counts as not idle: an agent never exits on what it could
 * not read.
 * The final delete is conditional on the version the timer ran on
 * ({@link PoolRegistration#deregister(ComputeAgent)}): a wake that claims the agent at the last
 * moment wins, and the agent stays. One thread calls {@link #check()}.
 */
public final class IdleExit {

    private static final Logger log = LoggerFactory.getLogger(IdleExit.class);

    private final PoolRegistration pool;
    private final Clock clock;
    private final Duration after;
    /** When the item was first seen IDLE at {@link #idleVersion}; null while the timer is stopped. */
    private Instant idleSince;
    private long idleVersion;
    /** What the last check saw when it was not an IDLE item, so each change is logged once. */
    private String lastNotIdle;

    /** @param after how long the item must stay IDLE, unchanged, before the agent leaves (positive) */
    public IdleExit(PoolRegistration pool, Clock clock, Duration after) {
        this.pool = Objects.requireNonNull(pool, "pool is null");
        this.clock = Objects.requireNonNull(clock, "clock is null");
        this.after = Objects.requireNonNull(after, "after is null");
        if (after.isNegative() || after.isZero()) {
            throw new IllegalArgumentException("idle exit after " + after + ": must be positive");
        }
    }

    public Duration after() {
        return after;
    }

    /** Whether the agent has left the pool and should exit: true only once its item was deleted. */
    public boolean check() {
        Optional<ComputeAgent> read;
        try {
            read = pool.read();
        } catch (RuntimeException e) {
            log.warn("agent={} idle exit: cannot read its item in the warm pool, counting it as not idle: {}",
                    pool.id(), e.getMessage());
            notIdle(null);
            return false;
        }
        if (read.isEmpty()) {
            notIdle("missing");
            return false;
        }
        ComputeAgent item = read.get();
        return switch (item.state()) {
            case IDLE -> idleFor(item);
            case CLAIMED, RETIRED -> {
                notIdle(item.state().name());
                yield false;
            }
        };
    }

    private boolean idleFor(ComputeAgent item) {
        Instant now = clock.instant();
        if (idleSince == null || idleVersion != item.version()) {
            idleSince = now;
            idleVersion = item.version();
            lastNotIdle = null;
            log.info("agent={} IDLE in the warm pool at version {}: leaves it if still so at {}",
                    pool.id(), item.version(), now.plus(after));
            return false;
        }
        if (Duration.between(idleSince, now).compareTo(after) < 0) {
            return false;
        }
        boolean left = pool.deregister(item);
        if (!left) {
            // claimed (or changed) at the last moment: the next check starts over on what it reads
            notIdle(null);
        }
        return left;
    }

    /**
     * Stops the timer; {@code what} (missing, CLAIMED, RETIRED) is logged when it differs from
     * the last check's (null: nothing to log).
     */
    private void notIdle(String what) {
        idleSince = null;
        if (what != null && !what.equals(lastNotIdle)) {
            if (what.equals("CLAIMED")) {
                log.info("agent={} CLAIMED in the warm pool: no idle exit while it serves an endpoint", pool.id());
            } else {
                log.warn("agent={} is {} in the warm pool: it does not exit on that; the control plane decides",
                        pool.id(), what);
            }
        }
        lastNotIdle = what;
    }
}
