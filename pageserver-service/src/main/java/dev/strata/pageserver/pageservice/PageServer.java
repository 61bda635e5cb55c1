package dev.strata.pageserver.pageservice;

import dev.strata.pgcore.auth.TokenVerifier;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
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
 */
public final class PageServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PageServer.class);
    /** Requests waiting for a worker, over all connections. */
    public static final int QUEUE_LIMIT = 16_384;

    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final ThreadPoolExecutor executor;
    private final Channel channel;

    private PageServer(EventLoopGroup boss, EventLoopGroup workers, ThreadPoolExecutor executor, Channel channel) {
        this.boss = boss;
        this.workers = workers;
        this.executor = executor;
        this.channel = channel;
    }

    public static PageServer start(String host, int port, PageService service, int threads, TokenVerifier verifier) {
        java.util.Objects.requireNonNull(verifier, "the page service needs a token verifier");
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor executor = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(QUEUE_LIMIT),
                r -> Thread.ofPlatform().daemon().name("pageservice-" + n.incrementAndGet()).unstarted(r));
        EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        EventLoopGroup workers = new MultiThreadIoEventLoopGroup(Math.max(1, Math.min(4, threads / 2)),
                NioIoHandler.newFactory());
        PageResponseEncoder encoder = new PageResponseEncoder();
        try {
            Channel ch = new ServerBootstrap().group(boss, workers).channel(NioServerSocketChannel.class)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            c.pipeline()
                                    .addLast("flush", new FlushConsolidationHandler(64, true))
                                    .addLast("decoder", new PageRequestDecoder())
                                    .addLast("encoder", encoder)
                                    .addLast("handler", new PageServiceHandler(service, executor, verifier));
                        }
                    })
                    .bind(new InetSocketAddress(host, port)).syncUninterruptibly().channel();
            PageServer s = new PageServer(boss, workers, executor, ch);
            log.info("page service listening on {}", ch.localAddress());
            return s;
        } catch (RuntimeException e) {
            boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            executor.shutdownNow();
            throw e;
        }
    }

    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        executor.shutdownNow();
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        try {
            executor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
