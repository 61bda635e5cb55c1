package dev.strata.compute.agent;

import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import java.util.Objects;

/**
 * What the control plane asks of an agent: run Postgres for {@code endpoint} on {@code timeline},
 * under the term its Elect step won, starting at that election's epoch start.
 *
 * @param computeToken the compute token of {@code timeline} (scope {@code compute}), issued by the
 *                     control plane for this start: the agent presents it to the safekeepers and the
 *                     pageserver, which let it touch this timeline only. The agent holds no signing key.
 */
public record StartOrder(EndpointId endpoint, TimelineId timeline, Term term, Lsn startLsn, String computeToken) {

    public StartOrder {
        Objects.requireNonNull(endpoint, "endpoint is null");
        Objects.requireNonNull(timeline, "timeline is null");
        Objects.requireNonNull(term, "term is null");
        Objects.requireNonNull(startLsn, "startLsn is null");
        Objects.requireNonNull(computeToken, "computeToken is null");
        if (term.value() < 1) {
            throw new IllegalArgumentException("term must be at least 1 (a term the control plane elected), got " + term);
        }
        if (computeToken.isBlank()) {
            throw new IllegalArgumentException("computeToken is empty: the safekeepers and the pageserver need it");
        }
    }

    /** Without the token: an order may be logged. */
    @Override
    public String toString() {
        return "StartOrder[endpoint=" + endpoint + ", timeline=" + timeline + ", term=" + term + ", startLsn=" + startLsn + "]";
    }
}
