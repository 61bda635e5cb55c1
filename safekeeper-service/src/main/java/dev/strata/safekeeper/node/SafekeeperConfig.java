package dev.strata.safekeeper.node;

import dev.strata.pgcore.auth.TokenVerifier;
import dev.strata.pgcore.id.NodeId;
import dev.strata.remote.S3Config;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * One safekeeper's configuration. Every default works for the local cluster.
 *
 * @param nodeId              this node's id; also its application_name on computes
 * @param dataDir             where control files and WAL live (a durable volume on AWS)
 * @param listenHost          address both ports bind to (127.0.0.1 locally)
 * @param walsenderPort       the replication-protocol port (0: any free port)
 * @param httpPort            the management API port (0: any free port)
 * @param peers               the other safekeepers' management API base URLs
 * @param replicationUser     the user walsender clients log in as
 * @param replicationPassword its password (SCRAM-SHA-256)
 * @param peerExchangeInterval how often (term, flush LSN) is pushed to peers while it changes
 * @param verifier            checks the token of every management API caller (docs/safekeeper.md,
 *                            "Authentication"); required: there is no unauthenticated mode
 * @param token               this node's own token (scope {@code safekeeperdata}), presented to peers
 *                            when it recovers WAL from a donor; required
 * @param remoteStorage       where WAL is offloaded (docs/safekeeper.md, "WAL offload"); null: no
 *                            offload, WAL is removed once the pageserver and the peers have it
 */
public record SafekeeperConfig(
        NodeId nodeId,
        Path dataDir,
        String listenHost,
        int walsenderPort,
        int httpPort,
        Map<NodeId, URI> peers,
        String replicationUser,
        String replicationPassword,
        Duration peerExchangeInterval,
        TokenVerifier verifier,
        String token,
        S3Config remoteStorage) {

    /** Without remote storage. */
    public SafekeeperConfig(NodeId nodeId, Path dataDir, String listenHost, int walsenderPort, int httpPort,
                            Map<NodeId, URI> peers, String replicationUser, String replicationPassword,
                            Duration peerExchangeInterval, TokenVerifier verifier, String token) {
        this(nodeId, dataDir, listenHost, walsenderPort, httpPort, peers, replicationUser, replicationPassword,
                peerExchangeInterval, verifier, token, null);
    }

    public SafekeeperConfig {
        Objects.requireNonNull(nodeId, "nodeId is null");
        Objects.requireNonNull(dataDir, "dataDir is null");
        Objects.requireNonNull(listenHost, "listenHost is null");
        Objects.requireNonNull(replicationUser, "replicationUser is null");
        Objects.requireNonNull(replicationPassword, "replicationPassword is null");
        Objects.requireNonNull(peerExchangeInterval, "peerExchangeInterval is null");
        peers = Map.copyOf(peers);
        if (peers.containsKey(nodeId)) {
            throw new IllegalArgumentException("node " + nodeId + " lists itself as a peer");
        }
        if (walsenderPort < 0 || walsenderPort > 65535 || httpPort < 0 || httpPort > 65535) {
            throw new IllegalArgumentException("ports must be within 0..65535");
        }
        if (replicationPassword.isEmpty()) {
            throw new IllegalArgumentException("the walsender needs a password: there is no unauthenticated access");
        }
        if (verifier == null) {
            throw new IllegalArgumentException("no token verifier: the management API accepts only callers with a"
                    + " service token, so it needs the cluster's public keys (--auth-public-keys)");
        }
        if (token == null || token.isBlank()) {
            throw new IllegalArgumentException("no token of its own: a safekeeper presents one to its peers"
                    + " (--token-file)");
        }
    }

    /** Without the secrets: a config may be logged. */
    @Override
    public String toString() {
        return "SafekeeperConfig[nodeId=" + nodeId + ", dataDir=" + dataDir + ", listen=" + listenHost + ", walsenderPort="
                + walsenderPort + ", httpPort=" + httpPort + ", peers=" + peers + ", replicationUser=" + replicationUser
                + ", peerExchangeInterval=" + peerExchangeInterval + ", remoteStorage="
                + (remoteStorage == null ? "none" : remoteStorage) + "]";
    }

    /** Loopback, ephemeral ports, no peers yet: the shape of a local-cluster or test node. */
    public static SafekeeperConfig local(NodeId nodeId, Path dataDir, String replicationPassword,
                                         TokenVerifier verifier, String token) {
        return new SafekeeperConfig(nodeId, dataDir, "127.0.0.1", 0, 0, Map.of(), "strata_replicator",
                replicationPassword, Duration.ofMillis(100), verifier, token);
    }

    public SafekeeperConfig withPeers(Map<NodeId, URI> newPeers) {
        return new SafekeeperConfig(nodeId, dataDir, listenHost, walsenderPort, httpPort, newPeers, replicationUser,
                replicationPassword, peerExchangeInterval, verifier, token, remoteStorage);
    }

    /** The same node offloading its WAL to {@code s3} (null: no offload). */
    public SafekeeperConfig withRemoteStorage(S3Config s3) {
        return new SafekeeperConfig(nodeId, dataDir, listenHost, walsenderPort, httpPort, peers, replicationUser,
                replicationPassword, peerExchangeInterval, verifier, token, s3);
    }

    public SafekeeperConfig withPorts(int walsender, int http) {
        return new SafekeeperConfig(nodeId, dataDir, listenHost, walsender, http, peers, replicationUser,
                replicationPassword, peerExchangeInterval, verifier, token, remoteStorage);
    }

    /** Members of the quorum: this node and its peers. */
    public int clusterSize() {
        return peers.size() + 1;
    }

    /** A majority of the cluster. */
    public int quorum() {
        return clusterSize() / 2 + 1;
    }
}
