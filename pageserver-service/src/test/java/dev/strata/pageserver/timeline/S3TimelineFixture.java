package dev.strata.pageserver.timeline;

import dev.strata.remote.EmbeddedS3;
import dev.strata.remote.Generation;
import dev.strata.remote.RemoteStorage;
import dev.strata.remote.RetryingRemoteStorage;
import dev.strata.remote.S3RemoteStorage;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What the tests of timelines on object storage share: a real S3-compatible server (S3Proxy on
 * loopback), one event loop, and the storage clients and timeline managers a test opens on them,
 * closed in reverse order by {@link #close()}.
 */
final class S3TimelineFixture implements AutoCloseable {

    private final EmbeddedS3 s3;
    private final EventLoopGroup group;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    private S3TimelineFixture(EmbeddedS3 s3) {
        this.s3 = s3;
        this.group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    static S3TimelineFixture start(Path dir) throws Exception {
        return new S3TimelineFixture(EmbeddedS3.start(dir));
    }

    /** The server: stop and start it again for an outage. */
    EmbeddedS3 s3() {
        return s3;
    }

    /** The event loop the managers use. */
    EventLoopGroup group() {
        return group;
    }

    /** A new client of the bucket under "cluster/", with short retries. */
    RemoteStorage storage() {
        RemoteStorage s = new RetryingRemoteStorage(new S3RemoteStorage(s3.config("cluster/")),
                new RetryingRemoteStorage.Policy(3, Duration.ofMillis(20), Duration.ofMillis(200)));
        toClose.add(s);
        return s;
    }

    /** A timeline manager on {@code dataDir} attached with {@code generation} through {@code storage}. */
    TimelineManager manager(Path dataDir, long generation, StorageConfig config, RemoteStorage storage) {
        TimelineManager m = new TimelineManager(dataDir, config, Timeline.Options.DEFAULTS, group,
                new RemoteTimeline(storage, Generation.of(generation)));
        toClose.add(m);
        return m;
    }

    @Override
    public void close() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        s3.close();
    }
}
