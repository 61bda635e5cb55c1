package dev.strata.control.pool;

import dev.strata.control.metadata.MetadataException;
import dev.strata.control.metadata.MetadataStore;
import dev.strata.control.model.AgentState;
import dev.strata.control.model.ComputeAgent;
import dev.strata.pgcore.id.NodeId;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes the compute agents of a stopped pool task out of the warm pool before a wake meets them.
 * An agent registers itself IDLE at its task's private address; a task that dies without a clean
 * stop leaves it there, and the wake that claims it would spend its retries on a dead address.
 * So when ECS reports a pool task STOPPED, every IDLE agent at one of its addresses is RETIRED
 * (never claimed again) — unless an agent answers at that address: a new task may already have
 * the address again, and its agent, registered under the same id, is live.
 *
 * <p>CLAIMED agents are left alone: the workflow holding one finds it dead itself (its
 * StartPostgres or StopPostgres fails) and its compensation retires it. Every write is conditional
 * on the version read, so a wake that claims the agent meanwhile wins and nothing is retired under it.
 */
public final class PoolReaper {

    private static final Logger log = LoggerFactory.getLogger(PoolReaper.class);

    /** Whether something answers at an agent's API address ({@code host:port}). */
    public interface Liveness {
        boolean answers(String address);
    }

    /** A TCP connect within {@code timeout}: an agent's API listener accepting is an agent alive. */
    public static Liveness tcp(Duration timeout) {
        return address -> {
            int colon = address.lastIndexOf(':');
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(address.substring(0, colon),
                        Integer.parseInt(address.substring(colon + 1))), (int) timeout.toMillis());
                return true;
            } catch (IOException | RuntimeException nobody) {
                return false;
            }
        };
    }

    /** What one stopped task led to: the agents retired, and those kept because they answered. */
    public record Outcome(List<NodeId> retired, List<NodeId> kept) {
    }

    private final MetadataStore store;
    private final Liveness liveness;

    public PoolReaper(MetadataStore store, Liveness liveness) {
        this.store = Objects.requireNonNull(store, "store is null");
        this.liveness = Objects.requireNonNull(liveness, "liveness is null");
    }

    /** Retires the IDLE agents at {@code addresses} (a stopped task's) that nobody answers for. */
    public Outcome taskStopped(String taskArn, List<String> addresses) {
        List<NodeId> retired = new ArrayList<>();
        List<NodeId> kept = new ArrayList<>();
        for (ComputeAgent listed : store.listAgents(AgentState.IDLE)) {
            if (!addresses.contains(host(listed.address()))) {
                continue;
            }
            // The index may lag: the item decides.
            Optional<ComputeAgent> fresh = store.getAgent(listed.id());
            if (fresh.isEmpty() || fresh.get().state() != AgentState.IDLE) {
                continue;
            }
            ComputeAgent a = fresh.get();
            if (liveness.answers(a.address())) {
                log.info("agent={} at {} answers after task {} stopped: a new task has the address; kept", a.id(),
                        a.address(), taskArn);
                kept.add(a.id());
                continue;
            }
            try {
                store.updateAgent(a, a.retired());
                log.info("agent={} at {} retired: its task {} stopped", a.id(), a.address(), taskArn);
                retired.add(a.id());
            } catch (MetadataException.VersionConflict | MetadataException.NotFound changed) {
                log.info("agent={} changed while being retired (claimed or re-registered); left to its owner", a.id());
            }
        }
        return new Outcome(List.copyOf(retired), List.copyOf(kept));
    }

    private static String host(String address) {
        int colon = address.lastIndexOf(':');
        return colon < 0 ? address : address.substring(0, colon);
    }
}
