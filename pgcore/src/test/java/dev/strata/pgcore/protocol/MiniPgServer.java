package dev.strata.pgcore.protocol;

import dev.strata.pgcore.protocol.auth.Md5Password;
import dev.strata.pgcore.protocol.auth.ScramSha256;
import dev.strata.pgcore.protocol.auth.ScramSha256Verifier;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A tiny PostgreSQL server built only from our server-side codecs, for real clients
 * (pgjdbc) to talk to: refuses SSL, authenticates one user by cleartext, MD5 or SCRAM,
 * answers {@code SELECT 1}, holds {@code SELECT pg_sleep(..)} until cancelled, and returns an ErrorResponse for anything else.
 */
final class MiniPgServer implements AutoCloseable {

    enum Auth { CLEARTEXT, MD5, SCRAM }

    static final String USER = "alice";
    static final String PASSWORD = "s3cret";
    static final int PROCESS_ID = 4242;
    static final int SECRET_KEY = 0x5eC12e7;

    private final Auth auth;
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel server;
    /** Every message the server read, in order, across connections; also protocol errors. */
    final LinkedBlockingQueue<Object> received = new LinkedBlockingQueue<>();
    /** The session running {@code SELECT pg_sleep(..)}, which waits for a CancelRequest. */
    private volatile ChannelHandlerContext sleeping;

    MiniPgServer(Auth auth) throws InterruptedException {
        this.auth = auth;
        this.server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast("codec", new PgServerCodec(ProtocolLimits.PRE_AUTH))
                                .addLast("session", new Session());
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
    }

    int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port() + "/app?preferQueryMode=simple&connectTimeout=5&socketTimeout=5";
    }

    Object nextReceived(Class<?> type) throws InterruptedException {
        for (Object o = received.poll(5, TimeUnit.SECONDS); o != null; o = received.poll(5, TimeUnit.SECONDS)) {
            if (type.isInstance(o)) {
                return o;
            }
        }
        throw new AssertionError("no " + type.getSimpleName() + " received within 5 s");
    }

    @Override
    public void close() {
        server.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    /** One connection: startup, authentication, then queries. */
    private final class Session extends SimpleChannelInboundHandler<FrontendMessage> {
        private byte[] salt;
        private ScramSha256Verifier scram;

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FrontendMessage msg) {
            received.add(msg);
            switch (msg) {
                case FrontendMessage.SSLRequest m -> ctx.writeAndFlush(BackendMessage.EncryptionResponse.REFUSED);
                case FrontendMessage.GSSENCRequest m -> ctx.writeAndFlush(BackendMessage.EncryptionResponse.REFUSED);
                case FrontendMessage.CancelRequest m -> {
                    ChannelHandlerContext target = sleeping;
                    if (m.processId() == PROCESS_ID && m.secretKey() == SECRET_KEY && target != null) {
                        sleeping = null;
                        target.write(BackendMessage.ErrorResponse.of("ERROR", "57014",
                                "canceling statement due to user request"));
                        target.writeAndFlush(BackendMessage.ReadyForQuery.IDLE);
                    }
                    ctx.close();
                }
                case FrontendMessage.StartupMessage m -> {
                    if (!USER.equals(m.user())) {
                        fatal(ctx, "28000", "role \"" + m.user() + "\" does not exist");
                        return;
                    }
                    switch (auth) {
                        case CLEARTEXT -> ctx.writeAndFlush(BackendMessage.AuthenticationCleartextPassword.INSTANCE);
                        case MD5 -> {
                            salt = new byte[4];
                            ThreadLocalRandom.current().nextBytes(salt);
                            ctx.writeAndFlush(new BackendMessage.AuthenticationMD5Password(salt));
                        }
                        case SCRAM -> {
                            scram = ScramSha256Verifier.forPassword(PASSWORD, 4096);
                            ctx.writeAndFlush(new BackendMessage.AuthenticationSASL(List.of(ScramSha256.MECHANISM)));
                        }
                    }
                }
                case FrontendMessage.PasswordMessage m -> {
                    String expected = auth == Auth.MD5 ? Md5Password.answer(USER, PASSWORD, salt) : PASSWORD;
                    if (expected.equals(m.password())) {
                        authenticated(ctx);
                    } else {
                        fatal(ctx, "28P01", "password authentication failed for user \"" + USER + "\"");
                    }
                }
                case FrontendMessage.SASLInitialResponse m -> ctx.writeAndFlush(new BackendMessage.AuthenticationSASLContinue(
                        bytes(scram.serverFirstMessage(new String(m.data(), StandardCharsets.UTF_8)))));
                case FrontendMessage.SASLResponse m -> {
                    try {
                        String serverFinal = scram.serverFinalMessage(new String(m.data(), StandardCharsets.UTF_8));
                        ctx.write(new BackendMessage.AuthenticationSASLFinal(bytes(serverFinal)));
                        authenticated(ctx);
                    } catch (ProtocolException e) {
                        fatal(ctx, "28P01", "password authentication failed for user \"" + USER + "\"");
                    }
                }
                case FrontendMessage.Query m -> query(ctx, m.sql().trim());
                case FrontendMessage.Terminate m -> ctx.close();
                default -> fatal(ctx, ProtocolException.PROTOCOL_VIOLATION, "unexpected message " + msg);
            }
        }

        private void authenticated(ChannelHandlerContext ctx) {
            ctx.write(BackendMessage.AuthenticationOk.INSTANCE);
            Map.of("server_version", "17.6", "server_encoding", "UTF8", "client_encoding", "UTF8",
                    "DateStyle", "ISO, MDY", "integer_datetimes", "on", "standard_conforming_strings", "on",
                    "TimeZone", "UTC").forEach((k, v) -> ctx.write(new BackendMessage.ParameterStatus(k, v)));
            ctx.write(new BackendMessage.BackendKeyData(PROCESS_ID, SECRET_KEY));
            ctx.writeAndFlush(BackendMessage.ReadyForQuery.IDLE);
        }

        private void query(ChannelHandlerContext ctx, String sql) {
            if (sql.startsWith("SELECT pg_sleep")) {
                sleeping = ctx; // answered only by a CancelRequest
                return;
            }
            if (sql.isEmpty()) {
                ctx.write(BackendMessage.EmptyQueryResponse.INSTANCE);
            } else if (sql.regionMatches(true, 0, "SET ", 0, 4)) {
                ctx.write(new BackendMessage.CommandComplete("SET")); // pgjdbc's setup queries
            } else if (sql.matches("(?i)select \\d+")) {
                String n = sql.substring(7);
                ctx.write(new BackendMessage.RowDescription(
                        List.of(BackendMessage.Field.text("?column?", BackendMessage.Field.INT4_OID))));
                ctx.write(new BackendMessage.DataRow(List.of(bytes(n))));
                ctx.write(new BackendMessage.CommandComplete("SELECT 1"));
            } else {
                ctx.write(new BackendMessage.ErrorResponse(Map.of('S', "ERROR", 'V', "ERROR", 'C', "42P01",
                        'M', "relation \"nowhere\" does not exist", 'D', "mini server knows no tables",
                        'H', "try SELECT 1")));
            }
            ctx.writeAndFlush(BackendMessage.ReadyForQuery.IDLE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            received.add(cause);
            if (cause instanceof ProtocolException e) {
                ctx.writeAndFlush(e.toErrorResponse()).addListener(ChannelFutureListener.CLOSE);
            } else {
                ctx.close();
            }
        }

        private void fatal(ChannelHandlerContext ctx, String sqlState, String message) {
            ctx.writeAndFlush(BackendMessage.ErrorResponse.of("FATAL", sqlState, message))
                    .addListener(ChannelFutureListener.CLOSE);
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
