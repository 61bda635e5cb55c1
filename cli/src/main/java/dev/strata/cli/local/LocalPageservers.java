package dev.strata.cli.local;

import dev.strata.compute.node.ComputeStartException;
import dev.strata.compute.pageserver.PageServiceAccess;
import dev.strata.compute.pageserver.PageserverAccess;
import dev.strata.pageserver.PageserverMain;
import dev.strata.pageserver.client.PageserverAdminClient;
import dev.strata.pageserver.client.PageserverApiException;
import dev.strata.pageserver.client.TimelineIdentity;
import dev.strata.pageserver.http.Dto;
import dev.strata.pageserver.http.PageserverConfig;
import dev.strata.pageserver.http.PageserverServer;
import dev.strata.pageserver.key.Key;
import dev.strata.remote.RemoteStorageConfig;
import dev.strata.remote.S3Config;
import dev.strata.pageserver.timeline.Timeline;
import dev.strata.pageserver.timeline.TimelineException;
import dev.strata.pageserver.timeline.TimelineManager;
import dev.strata.pgcore.auth.TokenVerifier;
import dev.strata.pgcore.control.ControlFile;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Builds the local cluster's pageserver. */
public final class LocalPageservers {

    private LocalPageservers() {
    }

    /**
     * The pageserver in this JVM, on its data directory; the compute reaches it over its page
     * service. Its listeners accept tokens {@code verifier} trusts; the cluster manages it by
     * direct calls, not over HTTP.
     */
    public static LocalPageserver inProcess(Path dataDir, TokenVerifier verifier) {
        return inProcess(dataDir, verifier, null);
    }

    /** As {@link #inProcess(Path, TokenVerifier)}, uploading its history to {@code remote} (null: none). */
    public static LocalPageserver inProcess(Path dataDir, TokenVerifier verifier, RemoteStorageConfig remote) {
        PageserverServer server = PageserverServer.start(PageserverConfig.local(dataDir, verifier), remote);
        // GC as the pageserver's own process runs it (PageserverMain's --gc-interval default):
        // each timeline keeps its retention window and every branch point (decision 0024).
        server.node().timelines().startGc(GC_INTERVAL);
        return new InProcess(server);
    }

    /** How often the local pageserver collects garbage (the default of PageserverMain's --gc-interval). */
    static final Duration GC_INTERVAL = Duration.ofHours(1);

    private static final class InProcess implements LocalPageserver {

        private final PageserverServer server;

        InProcess(PageserverServer server) {
            this.server = server;
        }

        private TimelineManager manager() {
            return server.node().timelines();
        }

        @Override
        public boolean hasTimeline(TimelineId id) {
            return manager().list().stream().anyMatch(t -> t.id().equals(id));
        }

        @Override
        public List<TimelineId> timelines() {
            return manager().list().stream().map(Timeline::id).toList();
        }

        @Override
        public CreatedTimeline createTimeline(TimelineId id, String user, String password) {
            if (!"postgres".equals(user)) {
                throw new IllegalArgumentException("the imported superuser is 'postgres', not '" + user + "'");
            }
            // Data checksums on (decision 0036): they also make a restore's basebackup incremental.
            Timeline t = manager().create(new TimelineManager.CreateRequest(id, null, true, true, List.of(),
                    password));
            Lsn start = t.lastRecordLsn();
            byte[] control = t.getValue(Key.controlFile(), start, Duration.ofSeconds(1));
            ControlFile cf = ControlFile.decode(control);
            return new CreatedTimeline(cf.systemIdentifier(), cf.walSegmentSize(), start);
        }

        @Override
        public BranchedTimeline branchTimeline(TimelineId child, TimelineId parent, Lsn at, List<WalSource> sources) {
            Timeline t = manager().branch(child, parent, at, domain(sources));
            return branched(Dto.TimelineStatus.of(t));
        }

        @Override
        public BranchedTimeline branchOf(TimelineId child) {
            return branched(Dto.TimelineStatus.of(manager().get(child)));
        }

        @Override
        public LsnAtTime lsnForTimestamp(TimelineId id, Instant time) {
            var found = manager().get(id).lsnForTimestamp(time);
            return new LsnAtTime(found.lsn(), found.kind().name().toLowerCase(Locale.ROOT));
        }

        @Override
        public Lsn lastRecordLsn(TimelineId id) {
            return manager().get(id).lastRecordLsn();
        }

        @Override
        public TimelineSizes sizes(TimelineId id) {
            return LocalPageservers.sizes(Dto.TimelineStatus.of(manager().get(id)));
        }

        @Override
        public void awaitIngest(TimelineId id, Lsn lsn, Duration timeout) {
            manager().get(id).awaitLsn(lsn, timeout);
        }

        @Override
        public void deleteTimeline(TimelineId id) {
            if (hasTimeline(id)) {
                manager().delete(id);
            }
        }

        @Override
        public void setWalSources(TimelineId id, List<WalSource> sources) {
            manager().get(id).setWalSources(domain(sources));
        }

        @Override
        public void attachTimeline(TimelineId id, List<WalSource> sources) {
            manager().attach(id, domain(sources));
        }

        private static List<dev.strata.pageserver.timeline.WalSource> domain(List<WalSource> sources) {
            return sources.stream()
                    .map(s -> new dev.strata.pageserver.timeline.WalSource(s.host(), s.port(), s.user(), s.password()))
                    .toList();
        }

        @Override
        public PageserverAccess access(String computeToken) {
            return new PageserverAccess() {
                @Override
                public void awaitLsn(TimelineId timeline, Lsn lsn, Duration timeout) {
                    try {
                        // In this JVM the wait needs no listener; the basebackup goes over the page service.
                        manager().get(timeline).awaitLsn(lsn, timeout);
                    } catch (TimelineException e) {
                        throw new ComputeStartException("timeline " + timeline + ": the pageserver did not reach the "
                                + "epoch start " + lsn + ": " + e.getMessage(), e);
                    }
                }

                @Override
                public InputStream basebackup(TimelineId timeline, Lsn lsn,
                                              dev.strata.pageserver.basebackup.BasebackupBase base) {
                    return new PageServiceAccess("127.0.0.1", server.pageServicePort(), computeToken)
                            .basebackup(timeline, lsn, base);
                }
            };
        }

        @Override
        public int pageServicePort() {
            return server.pageServicePort();
        }

        @Override
        public URI apiUrl() {
            return URI.create("http://" + PageserverConfig.DEFAULT_HOST + ":" + server.httpPort());
        }

        @Override
        public List<String> status(TimelineId id) {
            return statusLines(Dto.TimelineStatus.of(manager().get(id)));
        }

        @Override
        public void kill() {
            throw new UnsupportedOperationException("an in-process pageserver cannot be killed alone; run the "
                    + "cluster with child processes");
        }

        @Override
        public void restart() {
            throw new UnsupportedOperationException("an in-process pageserver cannot be restarted alone");
        }

        @Override
        public void restart(RemoteStorageConfig remote) {
            restart();
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
     * The pageserver as its own JVM ({@code PageserverMain}), reached over its HTTP API and page
     * service. It trusts the keys in {@code publicKeysFile} (a path on its command line, not a
     * secret); this side calls its management API with {@code apiToken} (scope pageserverapi),
     * kept in memory.
     */
    public static LocalPageserver child(Path dataDir, int httpPort, int pageServicePort, Path log, Path publicKeysFile,
                                        String apiToken) {
        return child(dataDir, httpPort, pageServicePort, log, publicKeysFile, apiToken, null);
    }

    /** As {@link #child(Path, int, int, Path, Path, String)}, uploading its history to {@code remote} (null: none). */
    public static LocalPageserver child(Path dataDir, int httpPort, int pageServicePort, Path log, Path publicKeysFile,
                                        String apiToken, RemoteStorageConfig remote) {
        return new Child(dataDir, httpPort, pageServicePort, log, publicKeysFile, apiToken, remote);
    }

    private static final class Child implements LocalPageserver {
        private final Path dataDir;
        private final int httpPort;
        private final int pageServicePort;
        private final Path log;
        private final Path publicKeysFile;
        private final String apiToken;
        private volatile RemoteStorageConfig remote;
        private volatile ChildProcess process;
        private volatile PageserverAdminClient api;

        Child(Path dataDir, int httpPort, int pageServicePort, Path log, Path publicKeysFile, String apiToken,
              RemoteStorageConfig remote) {
            this.dataDir = dataDir;
            this.httpPort = httpPort;
            this.pageServicePort = pageServicePort;
            this.log = log;
            this.publicKeysFile = publicKeysFile;
            this.apiToken = apiToken;
            this.remote = remote;
            restart();
        }

        @Override
        public synchronized void restart() {
            if (process != null && process.isAlive()) {
                return;
            }
            List<String> args = new ArrayList<>(List.of("--data-dir", dataDir.toString(), "--auth-public-keys",
                    publicKeysFile.toString(), "--http-port", Integer.toString(httpPort), "--pageservice-port",
                    Integer.toString(pageServicePort)));
            Map<String, String> env = new HashMap<>();
            if (remote != null) {
                S3Config s3 = remote.s3();
                args.addAll(List.of("--remote-storage-bucket", s3.bucket(), "--remote-storage-endpoint",
                        s3.endpoint().toString(), "--remote-storage-region", s3.region(), "--generation",
                        remote.generation().toString()));
                env.put("STRATA_PAGESERVER_S3_ACCESS_KEY", s3.accessKey()); // secrets: environment only
                env.put("STRATA_PAGESERVER_S3_SECRET_KEY", s3.secretKey());
            }
            process = ChildProcess.start("pageserver", PageserverMain.class.getName(), args, env, log,
                    Duration.ofSeconds(120));
        }

        @Override
        public synchronized void restart(RemoteStorageConfig next) {
            if (process != null && process.isAlive()) {
                throw new IllegalStateException("the pageserver is running; kill it before starting it under a new generation");
            }
            this.remote = next;
            restart();
        }

        @Override
        public void kill() {
            process.kill();
        }

        @Override
        public boolean isAlive() {
            return process != null && process.isAlive();
        }

        /** The management API client of the running process (made again if a restart moved its port). */
        private PageserverAdminClient api() {
            URI url = apiUrl();
            PageserverAdminClient c = api;
            if (c == null || !c.base().equals(url)) {
                c = new PageserverAdminClient(url, () -> apiToken);
                api = c;
            }
            return c;
        }

        /**
         * Runs a management API call, with the failures the cluster's callers expect: no answer is an
         * {@link UncheckedIOException} (a step retries it), a refusal an {@link IllegalStateException}
         * with the pageserver's message.
         */
        private static <T> T call(java.util.function.Supplier<T> call) {
            try {
                return call.get();
            } catch (PageserverApiException e) {
                if (e.status() == 0) {
                    throw new UncheckedIOException(e.getMessage(), new IOException(e.getMessage(), e));
                }
                throw new IllegalStateException(e.getMessage(), e);
            }
        }

        private Dto.TimelineStatus timeline(TimelineId id) {
            return call(() -> api().timeline(id)).orElseThrow(() -> new IllegalStateException("the pageserver has no "
                    + "timeline " + id));
        }

        @Override
        public List<TimelineId> timelines() {
            return call(() -> api().timelines()).stream().map(t -> TimelineId.parse(t.timelineId())).toList();
        }

        @Override
        public boolean hasTimeline(TimelineId id) {
            return call(() -> api().timeline(id)).isPresent();
        }

        @Override
        public CreatedTimeline createTimeline(TimelineId id, String user, String password) {
            if (!"postgres".equals(user)) {
                throw new IllegalArgumentException("the imported superuser is 'postgres', not '" + user + "'");
            }
            Dto.TimelineStatus t = call(() -> api().createFromInitdb(id, password));
            return new CreatedTimeline(Long.parseUnsignedLong(t.systemId()), t.walSegmentSize(),
                    Lsn.parse(t.lastRecordLsn()));
        }

        @Override
        public BranchedTimeline branchTimeline(TimelineId child, TimelineId parent, Lsn at, List<WalSource> sources) {
            return branched(call(() -> api().branch(child, parent, at, json(sources))));
        }

        @Override
        public BranchedTimeline branchOf(TimelineId child) {
            return branched(timeline(child));
        }

        @Override
        public LsnAtTime lsnForTimestamp(TimelineId id, Instant time) {
            Dto.LsnByTimestamp r = call(() -> api().lsnByTimestamp(id, time));
            return new LsnAtTime(Lsn.parse(r.lsn()), r.kind());
        }

        @Override
        public Lsn lastRecordLsn(TimelineId id) {
            return Lsn.parse(timeline(id).lastRecordLsn());
        }

        @Override
        public TimelineSizes sizes(TimelineId id) {
            return LocalPageservers.sizes(timeline(id));
        }

        @Override
        public void awaitIngest(TimelineId id, Lsn lsn, Duration timeout) {
            call(() -> api().awaitLsn(id, lsn, timeout));
        }

        @Override
        public void deleteTimeline(TimelineId id) {
            call(() -> api().deleteTimeline(id));
        }

        @Override
        public void setWalSources(TimelineId id, List<WalSource> sources) {
            call(() -> {
                api().setWalSources(id, json(sources));
                return null;
            });
        }

        @Override
        public void attachTimeline(TimelineId id, List<WalSource> sources) {
            call(() -> api().attach(id, json(sources)));
        }

        private static List<Dto.Source> json(List<WalSource> sources) {
            return sources.stream().map(s -> new Dto.Source(s.host(), s.port(), s.user(), s.password())).toList();
        }

        @Override
        public PageserverAccess access(String computeToken) {
            return new PageServiceAccess("127.0.0.1", process.port("pageservice"), computeToken);
        }

        @Override
        public int pageServicePort() {
            return process.port("pageservice");
        }

        @Override
        public URI apiUrl() {
            return URI.create("http://127.0.0.1:" + process.port("http"));
        }

        @Override
        public List<String> status(TimelineId id) {
            if (!isAlive()) {
                return List.of("down (process exited)");
            }
            try {
                return statusLines(timeline(id));
            } catch (RuntimeException e) {
                return List.of("unreachable: " + e.getMessage());
            }
        }

        @Override
        public void close() {
            process.close();
        }
    }

    static LocalPageserver.TimelineSizes sizes(Dto.TimelineStatus t) {
        return new LocalPageserver.TimelineSizes(Lsn.parse(t.lastRecordLsn()), t.layerBytes(),
                t.logicalSize() == null ? -1 : t.logicalSize());
    }

    /** What the safekeepers need of a new branch timeline, from the pageserver's status of it. */
    static LocalPageserver.BranchedTimeline branched(Dto.TimelineStatus t) {
        TimelineIdentity id = TimelineIdentity.of(t);
        return new LocalPageserver.BranchedTimeline(id.walStart(), id.systemId(), id.walSegmentSize());
    }

    /** The status lines of a timeline, the same for both kinds: from what the management API reports. */
    static List<String> statusLines(Dto.TimelineStatus t) {
        String line = String.format("%s, last record %s (prev %s), disk-consistent %s, layers: %d delta, %d image, "
                        + "%d in memory; WAL receiver %s", t.state(), t.lastRecordLsn(), t.prevRecordLsn(),
                t.diskConsistentLsn(), t.layers().delta(), t.layers().image(),
                t.layers().inMemory() + t.layers().frozen(), t.walReceiver().state());
        List<String> lines = new ArrayList<>(List.of(line));
        Dto.Remote r = t.remote();
        if (r != null) {
            lines.add(String.format("S3: remote-consistent %s (generation %d), %d layers waiting, %d uploaded (%d bytes); "
                            + "layers on local disk %d, only in S3 %d%s",
                    r.remoteConsistentLsn(), r.generation(), r.pendingLayers(), r.layersUploaded(), r.bytesUploaded(),
                    r.localLayers(), r.remoteOnlyLayers(), r.lastError() == null ? "" : "; failing: " + r.lastError()));
        }
        if (t.reason() != null && !t.reason().isEmpty()) {
            lines.add("stopped because: " + t.reason());
        }
        return lines;
    }
}
