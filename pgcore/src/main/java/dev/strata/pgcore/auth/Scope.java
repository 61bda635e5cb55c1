package dev.strata.pgcore.auth;

import java.util.Locale;

/**
 * What a service token lets its holder do. One scope per token; each listener names the
 * scopes it accepts (docs/architecture.md §8 lists them per listener). The wire names follow
 * Neon's where the meaning is the same.
 */
public enum Scope {
    /** The pageserver's management API and its page service, for every timeline. */
    PAGESERVER_API("pageserverapi"),
    /** A safekeeper's management API, walsender and peer traffic: WAL and elections. */
    SAFEKEEPER_DATA("safekeeperdata"),
    /**
     * One compute: reads pages and basebackups of the one timeline named in the token's
     * {@code timeline_id} claim, nothing else (Neon's per-tenant token, narrowed to a timeline).
     */
    COMPUTE("compute"),
    /**
     * A compute agent's API: start and stop Postgres for an endpoint, count its sessions. Held by
     * the control plane's steps (and the local cluster), never by a compute.
     */
    AGENT_API("agentapi"),
    /**
     * The control plane's API (projects, branches, endpoints, operations; docs/control-plane.md "API"):
     * held by the {@code strata} cli and the proxy's wake, never by a compute or a storage node.
     */
    CONTROL_API("controlapi"),
    /** The operator: the local cluster's admin port, the proxy's status page. */
    ADMIN("admin");

    private final String wireName;

    Scope(String wireName) {
        this.wireName = wireName;
    }

    /** The value of the token's {@code scope} claim. */
    public String wireName() {
        return wireName;
    }

    /** The scope a {@code scope} claim names. */
    public static Scope fromWireName(String name) throws AuthException {
        for (Scope s : values()) {
            if (s.wireName.equals(name)) {
                return s;
            }
        }
        throw new AuthException(AuthException.Reason.MALFORMED,
                "unknown scope '" + (name == null ? "" : name.toLowerCase(Locale.ROOT)) + "'");
    }
}
