package dev.strata.pageserver.pageservice;

import dev.strata.pageserver.timeline.TimelineException;
import dev.strata.pgcore.auth.TokenVerifier;
import dev.strata.pgcore.net.ConnectionLimit;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import java.net.InetSocketAddress;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The page service's listener on the data port. Pipeline per connection, in order:
 * {@code flush} (consolidates flushes of pipelined answers), {@code decoder}
 * ({@link PageRequestDecoder}), {@code encoder} ({@link PageResponseEncoder}), {@code handler}
 * ({@link PageServiceHandler}). Requests run on a bounded executor ({@code threads} workers,
 * {@link #QUEUE_LIMIT} queued); when the queue is full a request is answered "overloaded".
 * Every connection authenticates first with a token {@code verifier} accepts (the handler).
 * Waits for WAL and basebackups run on lanes of their own ({@link PageServiceLanes}), and the
 * listener holds at most {@link PageServiceLimits#maxConnections()} connections.
 */
public final class PageServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PageServer.class);
    /** Requests waiting for a worker, over all connections. */
    public static final int QUEUE_LIMIT = 16_384;

    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final ThreadPoolExecutor executor;
    private final PageServiceLanes lanes;
    private final ConnectionLimit connections;
    private final Channel channel;

    private PageServer(EventLoopGroup boss, EventLoopGroup workers, ThreadPoolExecutor executor, PageServiceLanes lanes,
                       ConnectionLimit connections, Channel channel) {
        this.boss = boss;
        this.workers = workers;
        this.executor = executor;
        this.lanes = lanes;
        this.connections = connections;
        this.channel = channel;
    }

    public static PageServer start(String host, int port, PageService service, int threads, TokenVerifier verifier) {
        return start(host, port, service, threads, verifier, PageServiceLimits.defaults());
    }

    /** As above with other {@link PageServiceLimits} (connections, waits for WAL, basebackups). */
    public static PageServer start(String host, int port, PageService service, int threads, TokenVerifier verifier,
                                   PageServiceLimits limits) {
        java.util.Objects.requireNonNull(verifier, "the page service needs a token verifier");
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor executor = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(QUEUE_LIMIT),
                r -> Thread.ofPlatform().daemon().name("pageservice-" + n.incrementAndGet()).unstarted(r));
        EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        EventLoopGroup workers = new MultiThreadIoEventLoopGroup(Math.max(1, Math.min(4, threads / 2)),
                NioIoHandler.newFactory());
        PageResponseEncoder encoder = new PageResponseEncoder();
        PageServiceLanes lanes = new PageServiceLanes(executor, limits);
        ConnectionLimit connections = new ConnectionLimit("page service", limits.maxConnections());
        try {
            Channel ch = new ServerBootstrap().group(boss, workers).channel(NioServerSocketChannel.class)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            if (!connections.admit(c)) {
                                // Refused before reading: an error frame for "request 0", then close.
                                c.pipeline().addLast("encoder", encoder);
                                c.writeAndFlush(new PageResponse.Error(0, TimelineException.Kind.OVERLOADED.code(),
                                        connections.refusal())).addListener(ChannelFutureListener.CLOSE);
                                return;
                            }
                            c.pipeline()
                                    .addLast("flush", new FlushConsolidationHandler(64, true))
                                    .addLast("decoder", new PageRequestDecoder())
                                    .addLast("encoder", encoder)
                                    .addLast("handler", new PageServiceHandler(service, lanes, verifier));
                        }
                    })
                    .bind(new InetSocketAddress(host, port)).syncUninterruptibly().channel();
            PageServer s = new PageServer(boss, workers, executor, lanes, connections, ch);
            log.info("page service listening on {}", ch.localAddress());
            return s;
        } catch (RuntimeException e) {
            boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            executor.shutdownNow();
            lanes.shutdownNow();
            throw e;
        }
    }

    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    /** Basebackups streaming now. */
    public int basebackupsInFlight() {
        return lanes.basebackupsInFlight();
    }

    /** Requests waiting for WAL now (on a wait thread or queued for one). */
    public int waitingForWal() {
        return lanes.waiting();
    }

    /** Client connections open now (refused ones until closed). */
    public int openConnections() {
        return connections.open();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        executor.shutdownNow();
        lanes.shutdownNow();
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        try {
            executor.awaitTermination(5, TimeUnit.SECONDS);
            lanes.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
