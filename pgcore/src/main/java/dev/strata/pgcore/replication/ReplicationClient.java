package dev.strata.pgcore.replication;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.protocol.FrontendMessage;
import dev.strata.pgcore.protocol.PgClientCodec;
import dev.strata.pgcore.protocol.ProtocolLimits;
import dev.strata.pgcore.protocol.auth.PasswordPolicy;
import dev.strata.pgcore.protocol.replication.PgTimestamp;
import dev.strata.pgcore.protocol.replication.ReplicationMessage;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * A physical replication client on Netty: connects to a PostgreSQL walsender (a compute, or a
 * safekeeper's), authenticates (SCRAM-SHA-256; MD5 or cleartext only if {@link Options#passwordPolicy()}
 * allows them), runs {@code IDENTIFY_SYSTEM},
 * then {@code START_REPLICATION} at the position the caller picks from that answer, and
 * delivers WAL to a {@link Listener}. The caller acknowledges with {@link #sendStatus}, e.g.
 * only after its own fsync: that is what makes the compute's synchronous commit wait.
 *
 * <p>The listener runs on the Netty event loop and must not block; when it cannot take more
 * WAL it returns false from {@link Listener#onWal} and later calls {@link #resume()}.
 */
public final class ReplicationClient implements AutoCloseable {

    /**
     * Where and how to connect. {@code applicationName} is how the server names this standby.
     *
     * @param startupOptions the startup packet's {@code options} ({@code -c name=value ...}), e.g.
     *                       {@code -c timeline_id=<hex>} to pick a safekeeper's timeline; null for none
     * @param slot           the physical replication slot to stream through
     *                       ({@code START_REPLICATION SLOT}); null for none
     */
    public record Options(String host, int port, String user, String password, String applicationName,
                          Duration connectTimeout, String startupOptions, PasswordPolicy passwordPolicy,
                          ReplicationSlotName slot) {

        public Options(String host, int port, String user, String password, String applicationName,
                       Duration connectTimeout) {
            this(host, port, user, password, applicationName, connectTimeout, null);
        }

        /** SCRAM-SHA-256 only: a server asking for a cleartext or MD5 password gets nothing. */
        public Options(String host, int port, String user, String password, String applicationName,
                       Duration connectTimeout, String startupOptions) {
            this(host, port, user, password, applicationName, connectTimeout, startupOptions, PasswordPolicy.SCRAM_ONLY,
                    null);
        }

        /** These options with the startup packet's {@code options} set. */
        public Options withStartupOptions(String value) {
            return new Options(host, port, user, password, applicationName, connectTimeout, value, passwordPolicy, slot);
        }

        /** These options with another password policy (cleartext and MD5 must be allowed explicitly). */
        public Options withPasswordPolicy(PasswordPolicy policy) {
            return new Options(host, port, user, password, applicationName, connectTimeout, startupOptions, policy, slot);
        }

        /** These options streaming through the physical replication slot {@code value}. */
        public Options withSlot(ReplicationSlotName value) {
            return new Options(host, port, user, password, applicationName, connectTimeout, startupOptions, passwordPolicy,
                    value);
        }

        public Options {
            Objects.requireNonNull(host, "host is null");
            Objects.requireNonNull(user, "user is null");
            Objects.requireNonNull(password, "password is null");
            Objects.requireNonNull(applicationName, "applicationName is null");
            Objects.requireNonNull(connectTimeout, "connectTimeout is null");
            Objects.requireNonNull(passwordPolicy, "passwordPolicy is null");
        }

        @Override
        public String toString() {
            return user + "@" + host + ":" + port + " as " + applicationName; // never the password
        }
    }

    /** Receives the stream. Every method runs on the connection's event loop. */
    public interface Listener {
        /** Streaming has started at {@code start}; {@code system} is the server's IDENTIFY_SYSTEM answer. */
        default void onStreaming(IdentifySystem system, Lsn start) {
        }

        /** WAL bytes that belong at {@code start}; return false to stop reading until {@link #resume()}. */
        boolean onWal(Lsn start, byte[] payload, Lsn serverWalEnd);

        /**
         * The socket has no more data for now (Netty's read-complete): the natural moment to
         * force what {@link #onWal} took and acknowledge it — group commit by "queue drained".
         * A non-null result is reported to the server right away as write and flush position.
         */
        default Lsn onReadBatchEnd() {
            return null;
        }

        /** A keepalive; with {@code replyRequested} the server wants a status update now. */
        default void onKeepalive(Lsn serverWalEnd, boolean replyRequested) {
        }

        /** The connection has ended: {@code cause} is null for a close we asked for. Called once. */
        void onClosed(Throwable cause);
    }

    private final Channel channel;

    private ReplicationClient(Channel channel) {
        this.channel = channel;
    }

    /**
     * Connects and starts streaming at {@code startAt.apply(identifySystem)}. The future
     * completes once the server has answered START_REPLICATION with CopyBothResponse, or fails
     * with the reason (connection refused, authentication failed, the server's error).
     */
    public static CompletableFuture<ReplicationClient> start(EventLoopGroup group, Options options,
                                                             Function<IdentifySystem, Lsn> startAt, Listener listener) {
        CompletableFuture<ReplicationClient> started = new CompletableFuture<>();
        Bootstrap b = new Bootstrap()
                .group(group)
                .channel(NioSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) options.connectTimeout().toMillis())
                .option(ChannelOption.TCP_NODELAY, true)
                // onReadBatchEnd (channelReadComplete) is the receiver's group-commit point. By
                // default Netty ends a read batch at the first read that does not fill its buffer
                // (64 KiB at most) or after 16 reads, while the socket still has data: under a
                // bulk load a safekeeper then forced every ~1 MiB (measured: 0.97 MiB per force,
                // forces 45% of its stream thread's time). pg_receivewal --synchronous reads until
                // a read finds nothing (libpq's PQconsumeInput) and measured 16 MiB per fsync on the
                // same load. So: a batch ends when a read returns nothing, as there, or after 256
                // reads of up to 1 MiB (buffers grow only while reads fill them); the receiver caps
                // what one force covers itself.
                .option(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(64, 64 * 1024, 1 << 20)
                        .respectMaybeMoreData(false).maxMessagesPerRead(256))
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline()
                                .addLast("codec", new PgClientCodec(ProtocolLimits.DEFAULT))
                                .addLast("replication", new ReplicationClientHandler(options, startAt, listener, started));
                    }
                });
        ChannelFuture connect = b.connect(options.host(), options.port());
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                started.completeExceptionally(new ReplicationException("cannot connect to " + options + ": "
                        + f.cause().getMessage(), f.cause()));
            }
        });
        return started.thenApply(ignored -> new ReplicationClient(connect.channel()));
    }

    /** Reports positions to the server (a StandbyStatusUpdate). Safe from any thread. */
    public void sendStatus(Lsn write, Lsn flush, Lsn apply) {
        var update = new ReplicationMessage.StandbyStatusUpdate(write, flush, apply, PgTimestamp.now(), false);
        channel.writeAndFlush(new FrontendMessage.CopyData(update.encode()));
    }

    /** Reads from the socket again after {@link Listener#onWal} returned false. */
    public void resume() {
        channel.config().setAutoRead(true);
        channel.read();
    }

    public boolean isOpen() {
        return channel.isActive();
    }

    /** Closes the connection; the listener's {@code onClosed} gets null. */
    @Override
    public void close() {
        ReplicationClientHandler h = channel.pipeline().get(ReplicationClientHandler.class);
        if (h != null) {
            h.closing();
        }
        channel.close().awaitUninterruptibly(5000);
    }
}
