package dev.strata.compute.activity;

import java.time.Instant;

/**
 * A compute's client activity, as the suspend logic needs it.
 *
 * @param openConnections client connections (the agent's own excluded)
 * @param lastActivity    the latest of: a query start or state change of any client, or the
 *                        moment the compute started; "now" while a client is mid-query
 */
public record Activity(int openConnections, Instant lastActivity) {
}
