package dev.strata.pageserver.http;

import dev.strata.pageserver.pageservice.PageServer;
import dev.strata.pageserver.pageservice.PageService;
import dev.strata.pageserver.pageservice.PageServiceLimits;
import dev.strata.remote.RemoteStorage;
import dev.strata.remote.RemoteStorageConfig;
import dev.strata.pageserver.timeline.RemoteTimeline;
import dev.strata.pageserver.timeline.TimelineManager;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.util.concurrent.TimeUnit;

/**
 * A pageserver without its HTTP front: the timelines (loaded from the data directory at start),
 * the event loop their WAL receivers share, and the page service on its data port.
 */
public final class PageserverNode implements AutoCloseable {

    private final PageserverConfig config;
    private final EventLoopGroup walGroup;
    private final TimelineManager timelines;
    private final PageServer pageServer;
    private final RemoteStorage remoteStorage;

    public PageserverNode(PageserverConfig config) {
        this(config, null, PageServiceLimits.defaults());
    }

    public PageserverNode(PageserverConfig config, PageServiceLimits limits) {
        this(config, null, limits);
    }

    /** With {@code remote} (null: none), timelines upload their history to S3 and can be attached from it. */
    public PageserverNode(PageserverConfig config, RemoteStorageConfig remote) {
        this(config, remote, PageServiceLimits.defaults());
    }

    /** With remote storage (null: none) and the page service's limits. */
    public PageserverNode(PageserverConfig config, RemoteStorageConfig remote, PageServiceLimits limits) {
        this.config = config;
        this.walGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        this.remoteStorage = remote == null ? null : remote.open();
        TimelineManager tm = null;
        try {
            tm = new TimelineManager(config.dataDir(), config.storage(), config.timelineOptions(), walGroup,
                    remote == null ? null : new RemoteTimeline(remoteStorage, remote.generation()));
            tm.loadAll();
            this.timelines = tm;
            this.pageServer = PageServer.start(config.listenHost(), config.pageServicePort(), new PageService(tm),
                    config.pageServiceThreads(), config.verifier(), limits);
        } catch (RuntimeException e) {
            if (tm != null) {
                tm.close();
            }
            walGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            if (remoteStorage != null) {
                remoteStorage.close();
            }
            throw e;
        }
    }

    public PageserverConfig config() {
        return config;
    }

    public TimelineManager timelines() {
        return timelines;
    }

    public int pageServicePort() {
        return pageServer.port();
    }

    /** The page service's listener (its load: connections, waits, basebackups in flight). */
    public PageServer pageServer() {
        return pageServer;
    }

    /** Stops serving pages, then stops every timeline with a final flush. */
    @Override
    public void close() {
        try {
            pageServer.close();
        } finally {
            timelines.close();
            walGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
            if (remoteStorage != null) {
                remoteStorage.close(); // after the timelines: their final uploads use it
            }
        }
    }
}
