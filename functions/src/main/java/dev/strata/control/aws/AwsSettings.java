package dev.strata.control.aws;

import dev.strata.pgcore.id.NodeId;
import dev.strata.safekeeper.election.Proposer;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a control-plane Lambda needs to reach the storage services and the compute pool, from the
 * environment the stack sets (infra-cdk {@code ControlPlaneFunctions}). Secrets are named by ARN
 * here and read from Secrets Manager when first needed ({@link AwsSecrets}), never passed in the
 * environment. A variable that is missing or malformed is an error naming it.
 *
 * @param pageserver        {@value #PAGESERVER_URL}: the pageserver's management API
 * @param safekeepers       {@value #SAFEKEEPERS}: {@code id=url} pairs, comma-separated
 * @param walsenderPort     {@value #WALSENDER_PORT}: the safekeepers' walsender port (same host as their API)
 * @param signingKeySecret  {@value #SIGNING_KEY_SECRET}: the Ed25519 private JWK the control plane signs with
 * @param replicationSecret {@value #REPLICATION_SECRET}: the walsenders' {@code strata_replicator} password
 * @param superuserSecret   {@value #SUPERUSER_SECRET}: the password initdb gives {@code postgres}
 *                          (the compute agents log in with it)
 * @param cluster           {@value #ECS_CLUSTER}: the ECS cluster the compute pool runs in (empty: not configured)
 * @param poolService       {@value #POOL_SERVICE}: the compute pool's ECS service (empty: not configured)
 */
public record AwsSettings(URI pageserver, List<Proposer.Member> safekeepers, int walsenderPort,
                          String signingKeySecret, String replicationSecret, String superuserSecret,
                          Optional<String> cluster, Optional<String> poolService) {

    public static final String PAGESERVER_URL = "STRATA_PAGESERVER_URL";
    public static final String SAFEKEEPERS = "STRATA_SAFEKEEPERS";
    public static final String WALSENDER_PORT = "STRATA_SAFEKEEPER_WALSENDER_PORT";
    public static final String SIGNING_KEY_SECRET = "STRATA_JWT_SIGNING_KEY_SECRET";
    public static final String REPLICATION_SECRET = "STRATA_REPLICATION_PASSWORD_SECRET";
    public static final String SUPERUSER_SECRET = "STRATA_COMPUTE_ADMIN_SECRET";
    public static final String ECS_CLUSTER = "STRATA_ECS_CLUSTER";
    public static final String POOL_SERVICE = "STRATA_COMPUTE_POOL_SERVICE";

    public AwsSettings {
        safekeepers = List.copyOf(safekeepers);
    }

    /** The settings of the storage steps; every variable they need must be set. */
    public static AwsSettings storage(Map<String, String> env) {
        return new AwsSettings(url(env, PAGESERVER_URL), safekeepers(env), port(env), required(env, SIGNING_KEY_SECRET),
                required(env, REPLICATION_SECRET), required(env, SUPERUSER_SECRET), Optional.empty(), Optional.empty());
    }

    /**
     * The settings of the compute steps: the signing key (those that call an agent; empty for a step
     * that only retires agents) and the pool's cluster and service (those that retire agents).
     */
    public static AwsSettings compute(Map<String, String> env) {
        return new AwsSettings(null, List.of(), 0, optional(env, SIGNING_KEY_SECRET).orElse(""), "", "",
                optional(env, ECS_CLUSTER), optional(env, POOL_SERVICE));
    }

    /** The signing key's secret; an error naming the variable if this function was given none. */
    public String requireSigningKeySecret() {
        if (signingKeySecret.isEmpty()) {
            throw new IllegalStateException(SIGNING_KEY_SECRET + " is not set: this step does not call compute agents "
                    + "(infra-cdk Handlers.callsStorage)");
        }
        return signingKeySecret;
    }

    private static String required(Map<String, String> env, String name) {
        String v = env.get(name);
        if (v == null || v.isBlank()) {
            throw new IllegalStateException(name + " is not set: the stack sets it on every function that calls "
                    + "the storage services or the compute agents (infra-cdk ControlPlaneFunctions)");
        }
        return v.strip();
    }

    private static Optional<String> optional(Map<String, String> env, String name) {
        String v = env.get(name);
        return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.strip());
    }

    private static URI url(Map<String, String> env, String name) {
        String v = required(env, name);
        URI u;
        try {
            u = URI.create(v);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(name + "='" + v + "' is not a URL: " + e.getMessage(), e);
        }
        if (!"http".equals(u.getScheme()) || u.getHost() == null || u.getPort() <= 0) {
            throw new IllegalStateException(name + "='" + v + "' is not an http://host:port URL");
        }
        return u;
    }

    private static List<Proposer.Member> safekeepers(Map<String, String> env) {
        String v = required(env, SAFEKEEPERS);
        List<Proposer.Member> members = new ArrayList<>();
        for (String part : v.split(",")) {
            int eq = part.indexOf('=');
            if (eq <= 0) {
                throw new IllegalStateException(SAFEKEEPERS + ": '" + part.strip() + "' is not id=http://host:port");
            }
            NodeId id;
            try {
                id = NodeId.of(part.substring(0, eq).strip());
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException(SAFEKEEPERS + ": " + e.getMessage(), e);
            }
            URI url = url(Map.of(SAFEKEEPERS, part.substring(eq + 1).strip()), SAFEKEEPERS);
            if (members.stream().anyMatch(m -> m.id().equals(id))) {
                throw new IllegalStateException(SAFEKEEPERS + ": safekeeper " + id + " is named twice");
            }
            members.add(new Proposer.Member(id, url));
        }
        if (members.size() < 3 || members.size() % 2 == 0) {
            throw new IllegalStateException(SAFEKEEPERS + " names " + members.size() + " safekeepers; a quorum needs "
                    + "an odd number, at least 3");
        }
        return members;
    }

    private static int port(Map<String, String> env) {
        String v = required(env, WALSENDER_PORT);
        try {
            int p = Integer.parseInt(v);
            if (p < 1 || p > 65535) {
                throw new NumberFormatException("out of range");
            }
            return p;
        } catch (NumberFormatException e) {
            throw new IllegalStateException(WALSENDER_PORT + "='" + v + "' is not a TCP port");
        }
    }
}
