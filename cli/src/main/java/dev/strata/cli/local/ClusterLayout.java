package dev.strata.cli.local;

import java.nio.file.Path;

/**
 * Where the local cluster keeps things, under one data directory (default {@code ./.strata}).
 *
 * <pre>
 * cluster.properties      ids, ports and passwords chosen at the first `up` (mode 600)
 * strata.log              every component's log, this run's
 * strata.log.1            the run before's (a crash's log survives the restart after it)
 * safekeepers/sk-N/       each safekeeper's durable state (control files, WAL segments)
 * pageserver/             layer files and timeline metadata
 * computes/main/pgdata    the compute's data directory (a cache: replaced at each start)
 * proxy/                  the local CA and the proxy's certificate
 * auth/                   the cluster's token signing key, its public key set, each component's token (600)
 * run/                    present while the cluster runs: lock, admin.port, pid, ready
 * </pre>
 */
public record ClusterLayout(Path root) {

    public ClusterLayout {
        root = root.toAbsolutePath().normalize();
    }

    public Path stateFile() {
        return root.resolve("cluster.properties");
    }

    public Path logFile() {
        return root.resolve("strata.log");
    }

    /** The log of the run before this one: {@code up} moves {@link #logFile} here when it starts. */
    public Path previousLogFile() {
        return root.resolve("strata.log.1");
    }

    public Path safekeeperDir(String nodeId) {
        return root.resolve("safekeepers").resolve(nodeId);
    }

    public Path pageserverDir() {
        return root.resolve("pageserver");
    }

    /** The local object store (S3Proxy's filesystem store): the pageserver's history (decision 0016). */
    public Path objectStoreDir() {
        return root.resolve("s3");
    }

    /** The control plane's metadata: dynalite's LevelDB and log (decision 0017). */
    public Path dynamoDir() {
        return root.resolve("dynamo");
    }

    public Path computeDataDir(String endpoint) {
        return root.resolve("computes").resolve(endpoint).resolve("pgdata");
    }

    public Path proxyDir() {
        return root.resolve("proxy");
    }

    /** The signing key, the public keys listeners trust, and each component's token (ClusterAuth). */
    public Path authDir() {
        return root.resolve("auth");
    }

    public Path runDir() {
        return root.resolve("run");
    }

    public Path lockFile() {
        return runDir().resolve("lock");
    }

    /** The admin port of the running cluster (loopback), for `status` and `down`. */
    public Path adminPortFile() {
        return runDir().resolve("admin.port");
    }

    /** The running cluster's admin port from {@link #adminPortFile}; null if there is none or it is unreadable. */
    public Integer adminPort() throws java.io.IOException {
        if (!java.nio.file.Files.exists(adminPortFile())) {
            return null;
        }
        try {
            return Integer.parseInt(java.nio.file.Files.readString(adminPortFile()).trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** The operator token `strata up` wrote; "" when there is none (the admin port then says 401). */
    public String adminToken() throws java.io.IOException {
        Path file = ClusterAuth.adminTokenFile(authDir());
        return java.nio.file.Files.exists(file) ? dev.strata.pgcore.auth.AuthKeys.readToken(file) : "";
    }

    public Path pidFile() {
        return runDir().resolve("pid");
    }

    /** Written once the cluster answers queries: the connection string. */
    public Path readyFile() {
        return runDir().resolve("ready");
    }
}
