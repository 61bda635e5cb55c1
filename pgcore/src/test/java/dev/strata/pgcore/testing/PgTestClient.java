package dev.strata.pgcore.testing;

import dev.strata.pgcore.protocol.BackendMessage;
import dev.strata.pgcore.protocol.FrontendMessage;
import dev.strata.pgcore.protocol.PgClientCodec;
import dev.strata.pgcore.protocol.auth.ClientAuthentication;
import dev.strata.pgcore.protocol.auth.PasswordPolicy;
import io.netty.buffer.Unpooled;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A blocking test client on our client-side codecs: messages arrive in a queue the test
 * reads with a bounded wait. Not a driver, just enough to script conversations with a real
 * PostgreSQL or one of our servers, plus {@link #sendRaw} and {@link #sendUnchecked} for
 * hostile-input tests. Shared with other modules' tests through pgcore's test jar.
 */
public final class PgTestClient implements AutoCloseable {

    public static final long TIMEOUT_SECONDS = 10;
    private static final Object CLOSED = new Object();

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
    private final Channel channel;

    /** What the server told us after authentication. */
    public record Session(Map<String, String> parameters, BackendMessage.BackendKeyData key) {
    }

    public PgTestClient(String host, int port) {
        try {
            channel = new Bootstrap().group(group).channel(NioSocketChannel.class)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5000)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast("codec", new PgClientCodec()).addLast("inbox", new Inbox());
                        }
                    })
                    .connect(host, port).sync().channel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            throw new IllegalStateException(e);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Sends and waits until the write succeeded; fails the test otherwise. */
    public void send(FrontendMessage... messages) {
        for (int i = 0; i < messages.length - 1; i++) {
            channel.write(messages[i]);
        }
        var done = channel.writeAndFlush(messages[messages.length - 1]);
        if (!done.awaitUninterruptibly(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            throw new AssertionError("write not done within " + TIMEOUT_SECONDS + " s");
        }
        if (!done.isSuccess()) {
            throw new AssertionError("write failed", done.cause());
        }
    }

    /**
     * Sends without waiting for or checking the write: for conversations where the server may
     * already have closed the connection (hostile input), which the test then asserts.
     */
    public void sendUnchecked(FrontendMessage... messages) {
        for (FrontendMessage m : messages) {
            channel.write(m);
        }
        channel.flush();
    }

    /** Writes bytes as they are, past the encoder. */
    public void sendRaw(byte[] bytes) {
        channel.writeAndFlush(Unpooled.wrappedBuffer(bytes)).awaitUninterruptibly(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    /** The next message, or null if the server closed the connection. */
    public BackendMessage nextOrClosed() {
        Object o;
        try {
            o = inbox.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted");
        }
        if (o == null) {
            throw new AssertionError("no message from the server within " + TIMEOUT_SECONDS + " s");
        }
        if (o == CLOSED) {
            inbox.add(CLOSED);
            return null;
        }
        if (o instanceof Throwable t) {
            throw new AssertionError("pipeline failed", t);
        }
        return (BackendMessage) o;
    }

    public BackendMessage next() {
        BackendMessage m = nextOrClosed();
        if (m == null) {
            throw new AssertionError("server closed the connection");
        }
        return m;
    }

    public <T extends BackendMessage> T expect(Class<T> type) {
        BackendMessage m = next();
        if (!type.isInstance(m)) {
            throw new AssertionError("expected " + type.getSimpleName() + " but got " + m);
        }
        return type.cast(m);
    }

    /** The next message, which must be an ErrorResponse. */
    public BackendMessage.ErrorResponse expectError() {
        return expect(BackendMessage.ErrorResponse.class);
    }

    /** SSLRequest (expects 'N'), StartupMessage, authentication, then up to ReadyForQuery. */
    public Session login(Map<String, String> parameters, String password) {
        send(FrontendMessage.SSLRequest.INSTANCE);
        if (expect(BackendMessage.EncryptionResponse.class).accepted()) {
            throw new AssertionError("server wants TLS; this client only speaks cleartext");
        }
        send(FrontendMessage.StartupMessage.of(parameters));
        ClientAuthentication auth = new ClientAuthentication(parameters.get("user"), password,
                PasswordPolicy.ALLOW_CLEARTEXT_AND_MD5); // a test client for servers of every auth method
        while (!auth.isAuthenticated()) {
            BackendMessage m = next();
            if (!(m instanceof BackendMessage.Authentication request)) {
                throw new AssertionError("during authentication: " + m);
            }
            auth.reply(request).ifPresent(this::send);
        }
        Map<String, String> params = new LinkedHashMap<>();
        BackendMessage.BackendKeyData key = null;
        for (BackendMessage m = next(); !(m instanceof BackendMessage.ReadyForQuery); m = next()) {
            switch (m) {
                case BackendMessage.ParameterStatus p -> params.put(p.name(), p.value());
                case BackendMessage.BackendKeyData k -> key = k;
                default -> throw new AssertionError("after authentication: " + m);
            }
        }
        return new Session(params, key);
    }

    /** Sends a simple query and returns everything up to and including ReadyForQuery. */
    public List<BackendMessage> query(String sql) {
        send(new FrontendMessage.Query(sql));
        List<BackendMessage> out = new ArrayList<>();
        BackendMessage m;
        do {
            m = next();
            out.add(m);
        } while (!(m instanceof BackendMessage.ReadyForQuery));
        return out;
    }

    public boolean awaitClosed() {
        return awaitClosed(TIMEOUT_SECONDS);
    }

    public boolean awaitClosed(long seconds) {
        return channel.closeFuture().awaitUninterruptibly(seconds, TimeUnit.SECONDS);
    }

    public boolean isOpen() {
        return channel.isActive();
    }

    @Override
    public void close() {
        if (channel != null) {
            channel.close().awaitUninterruptibly(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    private final class Inbox extends SimpleChannelInboundHandler<BackendMessage> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, BackendMessage msg) {
            inbox.add(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            inbox.add(cause);
            ctx.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            inbox.add(CLOSED);
        }
    }
}
