package dev.strata.cli.local;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.remote.S3Config;
import dev.strata.safekeeper.SafekeeperMain;
import dev.strata.safekeeper.client.SafekeeperApiException;
import dev.strata.safekeeper.client.SafekeeperClient;
import dev.strata.safekeeper.http.Dto;
import dev.strata.safekeeper.http.SafekeeperServer;
import dev.strata.safekeeper.node.SafekeeperConfig;
import dev.strata.safekeeper.node.TimelineExistsException;
import dev.strata.safekeeper.node.TimelineNotFoundException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Builds the local cluster's safekeepers, in this JVM or as child processes. */
final class LocalSafekeepers {

    private LocalSafekeepers() {
    }

    static LocalSafekeeper inProcess(SafekeeperConfig config) {
        return new InProcess(SafekeeperServer.start(config));
    }

    /**
     * A safekeeper in a child process. It gets the cluster's public keys and its own token as
     * paths of 600 files ({@code --auth-public-keys}, {@code --token-file}); the cli calls its
     * management API with {@code cliToken} (scope {@code safekeeperdata}).
     */
    static LocalSafekeeper child(SafekeeperConfig config, Path log, Path publicKeys, Path tokenFile, String cliToken) {
        return new Child(config, log, publicKeys, tokenFile, cliToken);
    }

    /** One status line, the same for both kinds: from what the management API reports. */
    private static String line(Dto.Status s) {
        // The receiver shows "wal-removed: ..." when the compute no longer has the WAL it needs.
        String offload = Lsn.parse(s.offloadedLsn()).isValid()
                ? String.format(" offloaded %s (backlog %d MiB)", s.offloadedLsn(), s.offloadBacklogBytes() >> 20) : "";
        return String.format("term %d flush %s commit %s%s WAL from %s, receiver %s", s.promisedTerm(), s.flushLsn(),
                s.commitLsn(), offload, s.walRetainedFromLsn(), s.receiver());
    }

    private static final class InProcess implements LocalSafekeeper {
        private final SafekeeperServer server;

        InProcess(SafekeeperServer server) {
            this.server = server;
        }

        @Override
        public NodeId id() {
            return server.node().nodeId();
        }

        @Override
        public URI url() {
            return server.url();
        }

        @Override
        public int walsenderPort() {
            return server.walsenderPort();
        }

        @Override
        public void createTimeline(TimelineId id, long systemId, int walSegmentSize, Lsn start) {
            try {
                server.node().createTimeline(id, systemId, walSegmentSize, start);
            } catch (TimelineExistsException e) {
                // a first run that stopped after this step
            }
        }

        @Override
        public boolean hasTimeline(TimelineId id) {
            return server.node().timeline(id).isPresent();
        }

        @Override
        public void deleteTimeline(TimelineId id) {
            try {
                server.node().deleteTimeline(id);
            } catch (TimelineNotFoundException e) {
                // deleted before: deletion is idempotent
            }
        }

        @Override
        public Positions positions(TimelineId id) {
            Dto.Status st = Dto.Status.of(server.node().requireTimeline(id));
            return new Positions(Lsn.parse(st.flushLsn()), Lsn.parse(st.commitLsn()));
        }

        @Override
        public List<Lsn> termStarts(TimelineId id) {
            return server.node().requireTimeline(id).status().termHistory().entries().stream()
                    .map(e -> e.lsn()).toList();
        }

        @Override
        public String status(TimelineId id) {
            return server.node().timeline(id).map(t -> line(Dto.Status.of(t))).orElse("no timeline " + id);
        }

        @Override
        public void kill() {
            throw new UnsupportedOperationException("an in-process safekeeper cannot be killed alone; run the "
                    + "cluster with child processes");
        }

        @Override
        public void restart() {
            throw new UnsupportedOperationException("an in-process safekeeper cannot be restarted alone");
        }

        @Override
        public boolean isAlive() {
            return true;
        }

        @Override
        public void close() {
            server.close();
        }
    }

    /**
     * SafekeeperMain in its own JVM; the password travels in its environment, the key set and
     * its token as file paths: no secret on its command line.
     */
    private static final class Child implements LocalSafekeeper {
        private final SafekeeperConfig config;
        private final Path log;
        private final Path publicKeys;
        private final Path tokenFile;
        private final String cliToken;
        private volatile ChildProcess process;

        Child(SafekeeperConfig config, Path log, Path publicKeys, Path tokenFile, String cliToken) {
            this.config = config;
            this.log = log;
            this.publicKeys = publicKeys;
            this.tokenFile = tokenFile;
            this.cliToken = cliToken;
            restart();
        }

        @Override
        public synchronized void restart() {
            if (process != null && process.isAlive()) {
                return;
            }
            List<String> args = new ArrayList<>(List.of("--node-id", config.nodeId().toString(),
                    "--data-dir", config.dataDir().toString(), "--listen", config.listenHost(),
                    "--http-port", Integer.toString(config.httpPort()),
                    "--walsender-port", Integer.toString(config.walsenderPort()),
                    "--replication-user", config.replicationUser(),
                    "--auth-public-keys", publicKeys.toString(), "--token-file", tokenFile.toString()));
            config.peers().forEach((id, url) -> args.addAll(List.of("--peer", id + "=" + url)));
            Map<String, String> env = new java.util.HashMap<>(Map.of("STRATA_REPLICATION_PASSWORD", config.replicationPassword()));
            S3Config s3 = config.remoteStorage();
            if (s3 != null) {
                args.addAll(List.of("--remote-storage-bucket", s3.bucket(), "--remote-storage-region", s3.region()));
                if (s3.endpoint() != null) {
                    args.addAll(List.of("--remote-storage-endpoint", s3.endpoint().toString()));
                }
                if (!s3.prefix().isEmpty()) {
                    args.addAll(List.of("--remote-storage-prefix", s3.prefix()));
                }
                if (s3.accessKey() != null) {
                    env.put("STRATA_SAFEKEEPER_S3_ACCESS_KEY", s3.accessKey()); // secrets: environment only
                    env.put("STRATA_SAFEKEEPER_S3_SECRET_KEY", s3.secretKey());
                }
            }
            process = ChildProcess.start("safekeeper " + config.nodeId(), SafekeeperMain.class.getName(), args,
                    env, log, Duration.ofSeconds(60));
        }

        @Override
        public NodeId id() {
            return config.nodeId();
        }

        @Override
        public URI url() {
            return URI.create("http://" + config.listenHost() + ":" + process.port("http"));
        }

        @Override
        public int walsenderPort() {
            return process.port("walsender");
        }

        @Override
        public void createTimeline(TimelineId id, long systemId, int walSegmentSize, Lsn start) {
            SafekeeperClient c = new SafekeeperClient(url(), cliToken);
            try {
                c.createTimeline(id, systemId, walSegmentSize, start);
            } catch (SafekeeperApiException e) {
                if (e.status() != 409) {
                    throw e;
                }
            }
        }

        @Override
        public boolean hasTimeline(TimelineId id) {
            try {
                new SafekeeperClient(url(), cliToken).status(id);
                return true;
            } catch (SafekeeperApiException e) {
                if (e.status() == 404) {
                    return false;
                }
                throw e;
            }
        }

        @Override
        public void deleteTimeline(TimelineId id) {
            try {
                new SafekeeperClient(url(), cliToken).deleteTimeline(id);
            } catch (SafekeeperApiException e) {
                if (e.status() != 404) {
                    throw e;
                }
            }
        }

        @Override
        public Positions positions(TimelineId id) {
            Dto.Status st = new SafekeeperClient(url(), cliToken).status(id);
            return new Positions(Lsn.parse(st.flushLsn()), Lsn.parse(st.commitLsn()));
        }

        @Override
        public List<Lsn> termStarts(TimelineId id) {
            List<Dto.TermLsnJson> h = new SafekeeperClient(url(), cliToken).status(id).termHistory();
            return h == null ? List.of() : h.stream().map(e -> Lsn.parse(e.lsn())).toList();
        }

        @Override
        public String status(TimelineId id) {
            if (!isAlive()) {
                return "down (process exited)";
            }
            try {
                return line(new SafekeeperClient(url(), cliToken).status(id));
            } catch (RuntimeException e) {
                return "unreachable: " + e.getMessage();
            }
        }

        @Override
        public void kill() {
            process.kill();
        }

        @Override
        public boolean isAlive() {
            return process != null && process.isAlive();
        }

        @Override
        public java.util.OptionalLong pid() {
            return isAlive() ? java.util.OptionalLong.of(process.pid()) : java.util.OptionalLong.empty();
        }

        @Override
        public void close() {
            process.close();
        }
    }
}
