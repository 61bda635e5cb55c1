package dev.strata.safekeeper.replication;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.net.ConnectionLimit;
import dev.strata.pgcore.protocol.PgServerCodec;
import dev.strata.pgcore.protocol.ProtocolLimits;
import dev.strata.safekeeper.timeline.Timeline;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The safekeeper's walsender port: PostgreSQL's replication protocol, serving each
 * timeline's committed WAL to stock standbys, {@code pg_receivewal} and pageservers.
 * Pipeline: {@code codec} (framing and typed messages, pre-auth limits) then {@code walsender}
 * ({@link WalSenderHandler}). A client that completes no message for {@link #IDLE_TIMEOUT_SECONDS}
 * is disconnected, so half-open logins cannot pile up. The timeout sits behind the codec, so only
 * whole messages reset it: a client trickling one byte every few seconds into a message it never
 * finishes is dropped like a silent one. At most {@code maxConnections} clients are held at once;
 * one more gets ErrorResponse 53300 and is closed ({@link ConnectionLimit}).
 */
public final class WalSenderServer implements AutoCloseable {

    static final int IDLE_TIMEOUT_SECONDS = 60;
    public static final Duration IDLE_TIMEOUT = Duration.ofSeconds(IDLE_TIMEOUT_SECONDS);
    /** Connections held at once unless told otherwise. */
    public static final int DEFAULT_MAX_CONNECTIONS = 100;

    private final Channel serverChannel;
    private final ConnectionLimit limit;

    public WalSenderServer(EventLoopGroup group, String host, int port, WalSenderConfig config,
                           Function<TimelineId, Optional<Timeline>> timelines) {
        this(group, host, port, config, timelines, IDLE_TIMEOUT);
    }

    /** As above with another idle timeout (tests use a short one). */
    public WalSenderServer(EventLoopGroup group, String host, int port, WalSenderConfig config,
                           Function<TimelineId, Optional<Timeline>> timelines, Duration idleTimeout) {
        this(group, host, port, config, timelines, idleTimeout, DEFAULT_MAX_CONNECTIONS);
    }

    /** As above with another connection limit. */
    public WalSenderServer(EventLoopGroup group, String host, int port, WalSenderConfig config,
                           Function<TimelineId, Optional<Timeline>> timelines, Duration idleTimeout,
                           int maxConnections) {
        ConnectionLimit limit = new ConnectionLimit("safekeeper walsender", maxConnections);
        this.limit = limit;
        long idleMillis = idleTimeout.toMillis();
        if (idleMillis < 1) {
            throw new IllegalArgumentException("idle timeout must be at least 1 ms, got " + idleTimeout);
        }
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(512 * 1024, 2 * 1024 * 1024))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (!limit.admit(ch)) {
                            limit.refusePostgres(ch);
                            return;
                        }
                        // "idle" after "codec": it sees decoded messages, never bare bytes.
                        ch.pipeline()
                                .addLast("codec", new PgServerCodec(ProtocolLimits.PRE_AUTH))
                                .addLast("idle", new ReadTimeoutHandler(idleMillis, TimeUnit.MILLISECONDS))
                                .addLast("walsender", new WalSenderHandler(config, timelines, idleTimeout));
                    }
                });
        this.serverChannel = b.bind(host, port).syncUninterruptibly().channel();
    }

    public int port() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    /**
     * Connections admitted and not yet closed. A client's connect() returns when the kernel
     * accepts; the listener counts the connection a moment later, on its event loop.
     */
    public int openConnections() {
        return limit.open();
    }

    @Override
    public void close() {
        serverChannel.close().syncUninterruptibly();
    }
}
