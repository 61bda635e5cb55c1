package dev.strata.cli.local;

import dev.strata.compute.node.ComputeStartException;
import dev.strata.compute.pageserver.PageserverAccess;
import dev.strata.pageserver.client.PageserverClient;
import dev.strata.pageserver.http.PageserverConfig;
import dev.strata.pageserver.http.PageserverServer;
import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.timeline.Timeline;
import dev.strata.pageserver.timeline.TimelineException;
import dev.strata.pageserver.timeline.TimelineManager;
import dev.strata.pgcore.control.ControlFile;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/** Builds the local cluster's pageserver. */
public final class LocalPageservers {

    private LocalPageservers() {
    }

    /** The pageserver in this JVM, on its data directory; the compute reaches it over its page service. */
    public static LocalPageserver inProcess(Path dataDir) {
        return new InProcess(PageserverServer.start(PageserverConfig.local(dataDir, null)));
    }

    private static final class InProcess implements LocalPageserver {

        private final PageserverServer server;

        InProcess(PageserverServer server) {
            this.server = server;
        }

        private TimelineManager timelines() {
            return server.node().timelines();
        }

        @Override
        public boolean hasTimeline(TimelineId id) {
            return timelines().list().stream().anyMatch(t -> t.id().equals(id));
        }

        @Override
        public CreatedTimeline createTimeline(TimelineId id, String user, String password) {
            if (!"postgres".equals(user)) {
                throw new IllegalArgumentException("the imported superuser is 'postgres', not '" + user + "'");
            }
            Timeline t = timelines().create(new TimelineManager.CreateRequest(id, null, true, false, List.of(),
                    password));
            Lsn start = t.lastRecordLsn();
            byte[] control = t.getValue(Key.controlFile(), start, Duration.ofSeconds(1));
            ControlFile cf = ControlFile.decode(control);
            return new CreatedTimeline(cf.systemIdentifier(), cf.walSegmentSize(), start);
        }

        @Override
        public void setWalSources(TimelineId id, List<WalSource> sources) {
            timelines().get(id).setWalSources(sources.stream()
                    .map(s -> new dev.strata.pageserver.timeline.WalSource(s.host(), s.port(), s.user(), s.password()))
                    .toList());
        }

        @Override
        public PageserverAccess access() {
            return new PageserverAccess() {
                @Override
                public void awaitLsn(TimelineId timeline, Lsn lsn, Duration timeout) {
                    try {
                        timelines().get(timeline).awaitLsn(lsn, timeout);
                    } catch (TimelineException e) {
                        throw new ComputeStartException("timeline " + timeline + ": the pageserver did not reach the "
                                + "epoch start " + lsn + ": " + e.getMessage(), e);
                    }
                }

                @Override
                public InputStream basebackup(TimelineId timeline, Lsn lsn) {
                    return streamBasebackup(server.pageServicePort(), timeline, lsn);
                }
            };
        }

        @Override
        public List<String> status(TimelineId id) {
            Timeline t = timelines().get(id);
            Timeline.LastRecord last = t.lastRecord();
            Timeline.LayerCounts layers = t.layerCounts();
            String line = String.format("%s, last record %s (prev %s), disk-consistent %s, layers: %d delta, %d image, "
                            + "%d in memory; WAL receiver %s", t.state().name().toLowerCase(), last.lsn(), last.prev(),
                    t.store().diskConsistentLsn(), layers.delta(), layers.image(), layers.inMemory() + layers.frozen(),
                    t.walReceiverState());
            String reason = t.reason();
            return reason == null ? List.of(line) : List.of(line, "stopped because: " + reason);
        }

        @Override
        public void close() {
            server.close();
        }
    }

    /** Reads a basebackup over the page service (a real client on loopback) as a stream. */
    static InputStream streamBasebackup(int pageServicePort, TimelineId timeline, Lsn lsn) {
        PipedInputStream in = new PipedInputStream(1 << 20);
        PipedOutputStream out;
        try {
            out = new PipedOutputStream(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread.ofVirtual().name("basebackup-" + timeline).start(() -> {
            try (PageserverClient client = new PageserverClient("127.0.0.1", pageServicePort); out) {
                client.basebackup(timeline, lsn, out);
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        return new FilterInputStream(in) {
            @Override
            public int read() throws IOException {
                int b = super.read();
                return b < 0 ? endOrFailure() : b;
            }

            @Override
            public int read(byte[] buf, int off, int len) throws IOException {
                int n = super.read(buf, off, len);
                return n < 0 ? endOrFailure() : n;
            }

            private int endOrFailure() throws IOException {
                Throwable t = failure.get();
                if (t != null) {
                    throw new IOException("basebackup of timeline " + timeline + " at " + lsn + " failed: "
                            + t.getMessage(), t);
                }
                return -1;
            }
        };
    }
}
