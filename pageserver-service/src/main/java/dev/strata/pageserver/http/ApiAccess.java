package dev.strata.pageserver.http;

import dev.strata.pgcore.auth.Scope;
import java.util.Map;
import java.util.Set;

/**
 * Who may call which endpoint of the management API: one row per route, keyed by method and
 * URI template as the router matched it ({@code "GET /v1/timelines/{id}"}). {@link AuthFilter}
 * refuses a route that has no row, so an endpoint added without one answers 403 to everybody
 * (and {@code ApiAccessTest} fails) instead of being open. docs/pageserver.md,
 * "Authentication", shows the same table.
 *
 * <p>Everything takes {@link Scope#PAGESERVER_API} (the control plane, the local cluster's
 * cli); the operator's {@link Scope#ADMIN} token may read statuses. A compute's token never:
 * computes reach the pageserver only through the page service.
 */
final class ApiAccess {

    private static final Set<Scope> MANAGE = Set.of(Scope.PAGESERVER_API);
    private static final Set<Scope> READ_STATUS = Set.of(Scope.PAGESERVER_API, Scope.ADMIN);

    static final Map<String, Set<Scope>> RULES = Map.ofEntries(
            Map.entry("GET /v1/status", READ_STATUS),
            Map.entry("GET /v1/timelines", READ_STATUS),
            Map.entry("GET /v1/timelines/{id}", READ_STATUS),
            // Reads history like a status (a bounded search, no wait).
            Map.entry("GET /v1/timelines/{id}/lsn-by-timestamp", READ_STATUS),
            Map.entry("POST /v1/timelines", MANAGE),
            Map.entry("DELETE /v1/timelines/{id}", MANAGE),
            Map.entry("PUT /v1/timelines/{id}/wal-sources", MANAGE),
            Map.entry("POST /v1/timelines/{id}/attach", MANAGE),
            Map.entry("POST /v1/timelines/{id}/detach", MANAGE),
            Map.entry("POST /v1/timelines/{id}/gc", MANAGE),
            Map.entry("PUT /v1/timelines/{id}/config", MANAGE),
            // Holds a blocking thread for up to 10 minutes: not for a status reader.
            Map.entry("GET /v1/timelines/{id}/wait", MANAGE));

    /**
     * What a request for which no route matched (an unknown path or method) needs to learn
     * that (404, 405): a token of some scope of this API, so a stranger cannot map it.
     */
    static final Set<Scope> NO_ROUTE = READ_STATUS;

    private ApiAccess() {
    }

    static String key(String method, String uriTemplate) {
        return method + " " + uriTemplate;
    }

    /**
     * The scopes a route accepts; null for a route without a rule. Micronaut answers HEAD on
     * every GET route (RFC 9110: a GET without the body), so HEAD takes the GET row.
     */
    static Set<Scope> scopes(String method, String uriTemplate) {
        return RULES.get(key("HEAD".equals(method) ? "GET" : method, uriTemplate));
    }
}
