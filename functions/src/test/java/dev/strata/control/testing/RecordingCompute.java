package dev.strata.control.testing;

import dev.strata.control.compute.ComputeProvisioner;
import dev.strata.control.model.ComputeAgent;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A FAKE {@link ComputeProvisioner}, for tests only: the seam where the compute side meets the
 * control plane. The real implementations start processes (the cli's local one, later) or ECS
 * tasks (AWS); neither belongs in the functions module, and the handlers' tests are about what the
 * steps write to the real DynamoDB (dynalite) underneath. This one keeps in memory which agent
 * runs Postgres for which endpoint, with the same idempotency the interface asks of the real ones,
 * records every call, and injects the faults a real compute cannot be made to produce on demand
 * (an agent that does not answer, a stop that hangs) through {@link #faults()}.
 */
public final class RecordingCompute implements ComputeProvisioner {

    private final Faults faults = new Faults();
    private final Map<EndpointId, String> running = new HashMap<>();
    private final Map<EndpointId, NodeId> runningOn = new HashMap<>();
    private final Map<NodeId, String> launched = new HashMap<>();
    private final Map<EndpointId, Integer> sessions = new HashMap<>();
    private final Set<NodeId> retired = new HashSet<>();
    private int nextPort = 55_432;

    public Faults faults() {
        return faults;
    }

    @Override
    public String launchAgent(NodeId id) {
        faults.enter("launchAgent", "launchAgent " + id);
        synchronized (this) {
            return launched.computeIfAbsent(id, i -> "127.0.0.1:" + (nextPort++));
        }
    }

    @Override
    public String startPostgres(ComputeAgent agent, EndpointId endpoint, TimelineId timeline, long term, Lsn startLsn) {
        faults.enter("startPostgres", "startPostgres " + agent.id() + " " + endpoint + " " + timeline + " " + term + " "
                + startLsn);
        synchronized (this) {
            NodeId on = runningOn.get(endpoint);
            if (on != null && !on.equals(agent.id())) {
                throw new IllegalStateException(endpoint + " already runs on " + on + ", not " + agent.id());
            }
            runningOn.put(endpoint, agent.id());
            return running.computeIfAbsent(endpoint, e -> "127.0.0.1:" + (nextPort++));
        }
    }

    @Override
    public void stopPostgres(ComputeAgent agent, EndpointId endpoint) {
        faults.enter("stopPostgres", "stopPostgres " + agent.id() + " " + endpoint);
        synchronized (this) {
            if (agent.id().equals(runningOn.get(endpoint))) {
                runningOn.remove(endpoint);
                running.remove(endpoint);
            }
        }
    }

    @Override
    public int sessions(ComputeAgent agent, EndpointId endpoint) {
        faults.enter("sessions", "sessions " + agent.id() + " " + endpoint);
        synchronized (this) {
            return sessions.getOrDefault(endpoint, 0);
        }
    }

    @Override
    public void retireAgent(ComputeAgent agent) {
        faults.enter("retireAgent", "retireAgent " + agent.id());
        synchronized (this) {
            retired.add(agent.id());
            runningOn.values().removeIf(agent.id()::equals);
        }
    }

    /** The sessions {@link #sessions} reports for {@code endpoint} from now on. */
    public synchronized void setSessions(EndpointId endpoint, int n) {
        sessions.put(endpoint, n);
    }

    /** The agent running Postgres for {@code endpoint}, if any. */
    public synchronized Optional<NodeId> runningOn(EndpointId endpoint) {
        return Optional.ofNullable(runningOn.get(endpoint));
    }

    public synchronized int runningCount() {
        return runningOn.size();
    }

    public synchronized Set<NodeId> retired() {
        return Set.copyOf(retired);
    }
}
