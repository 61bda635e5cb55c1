package dev.strata.compute.agent;

import dev.strata.pgcore.id.EndpointId;

/** The agent runs (or is starting) Postgres for another endpoint; it serves one at a time. */
public final class AgentBusyException extends RuntimeException {

    private final EndpointId current;

    public AgentBusyException(EndpointId current, EndpointId requested) {
        super("this agent runs endpoint " + current + "; stop it before starting " + requested
                + " (an agent serves one endpoint at a time)");
        this.current = current;
    }

    public EndpointId current() {
        return current;
    }
}
