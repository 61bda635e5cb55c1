package dev.strata.safekeeper.http;

import dev.strata.pgcore.auth.Scope;
import java.util.Map;
import java.util.Set;

/**
 * Who may call which endpoint of the safekeeper management API: one row per route, keyed by
 * method and URI template as the router matched it ({@code "POST /v1/timelines/{id}/vote"}).
 * {@link AuthFilter} refuses a route without a row (403 to everybody, and
 * {@code ManagementApiAuthTest} fails), so a new endpoint is closed until someone decides. The
 * same table is in docs/safekeeper.md, "Authentication".
 *
 * <ul>
 *   <li>{@link Scope#SAFEKEEPER_DATA} (peers, the cli, operator tooling) may do everything.</li>
 *   <li>{@link Scope#COMPUTE} may do what a compute agent's proposer does, for the one timeline
 *       its token names ({@link AuthFilter} compares it with {@code {id}}): read the status, vote,
 *       send the elected message (whose donor URL is then taken from this node's peer list, not
 *       from the message: {@code SafekeeperNode.electedByCompute}) and announce the compute.
 *       Never create or delete a timeline, read raw WAL, or list the other timelines.</li>
 *   <li>{@link Scope#ADMIN} (the operator) may read statuses.</li>
 *   <li>{@link Scope#PAGESERVER_API} nothing: the pageserver reads WAL from the walsender, whose
 *       credential is the replication password.</li>
 * </ul>
 */
final class ApiAccess {

    private static final Set<Scope> DATA = Set.of(Scope.SAFEKEEPER_DATA);
    private static final Set<Scope> READ = Set.of(Scope.SAFEKEEPER_DATA, Scope.ADMIN);
    private static final Set<Scope> READ_TIMELINE = Set.of(Scope.SAFEKEEPER_DATA, Scope.ADMIN, Scope.COMPUTE);
    private static final Set<Scope> PROPOSE = Set.of(Scope.SAFEKEEPER_DATA, Scope.COMPUTE);

    static final Map<String, Set<Scope>> RULES = Map.of(
            "GET /v1/status", READ,
            "GET /v1/gossip", READ,
            "POST /v1/timelines", DATA,
            "GET /v1/timelines/{id}", READ_TIMELINE,
            "DELETE /v1/timelines/{id}", DATA,
            "POST /v1/timelines/{id}/vote", PROPOSE,
            "POST /v1/timelines/{id}/elected", PROPOSE,
            "POST /v1/timelines/{id}/compute", PROPOSE,
            // Any timeline's raw WAL: peers recovering only.
            "GET /v1/timelines/{id}/wal", DATA);

    /**
     * What a request no route matched (an unknown path or method) needs to learn that (404,
     * 405): a token of a scope that may read this API, so a stranger cannot map it.
     */
    static final Set<Scope> NO_ROUTE = READ;

    /** The path variable a {@link Scope#COMPUTE} token's timeline is compared with. */
    static final String TIMELINE_VARIABLE = "id";

    private ApiAccess() {
    }

    static String key(String method, String uriTemplate) {
        return method + " " + uriTemplate;
    }

    /**
     * The scopes a route accepts; null for a route without a rule. Micronaut answers HEAD on
     * every GET route, so HEAD takes the GET row.
     */
    static Set<Scope> scopes(String method, String uriTemplate) {
        return RULES.get(key("HEAD".equals(method) ? "GET" : method, uriTemplate));
    }
}
