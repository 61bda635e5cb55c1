package dev.strata.control.compute;

import dev.strata.control.model.ComputeAgent;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;

/**
 * The compute side of the control plane: starts compute agents and, through an agent, Postgres for
 * an endpoint. The local implementation (the cli's, processes on this machine) and the AWS one
 * (ECS tasks) implement it; the handlers only see this interface.
 *
 * <p>Every method must be idempotent, because a workflow step calling it may run again after a
 * retry or a lost response: launching an agent id that already runs returns its address, starting
 * Postgres that already runs for the endpoint returns its address, stopping a stopped compute does
 * nothing. A failure that may pass (the agent did not answer) is a
 * {@link dev.strata.control.TransientStepException}; any other exception is permanent.
 */
public interface ComputeProvisioner {

    /** Starts a new compute agent named {@code id} (the warm pool was empty) and returns its address. */
    String launchAgent(NodeId id);

    /**
     * Has {@code agent} fetch the basebackup of {@code timeline} at {@code startLsn} and start Postgres
     * for {@code endpoint} under safekeeper term {@code term}; returns the address clients connect to.
     */
    String startPostgres(ComputeAgent agent, EndpointId endpoint, TimelineId timeline, long term, Lsn startLsn);

    /** Stops the endpoint's Postgres on {@code agent} (fast shutdown); nothing if it is not running. */
    void stopPostgres(ComputeAgent agent, EndpointId endpoint);

    /**
     * The client sessions the endpoint's Postgres has open as it sees them ({@code pg_stat_activity}),
     * whichever way they came in; 0 if the endpoint's Postgres does not run on the agent (it died:
     * nothing holds it up, and the suspend that asks goes on and frees the agent).
     */
    int sessions(ComputeAgent agent, EndpointId endpoint);

    /** Stops and discards an agent taken out of the pool (quarantined after a failed suspend). */
    void retireAgent(ComputeAgent agent);
}
