package dev.strata.safekeeper.testing;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.protocol.BackendMessage;
import dev.strata.pgcore.protocol.FrontendMessage;
import dev.strata.pgcore.protocol.PgServerCodec;
import dev.strata.pgcore.protocol.ProtocolLimits;
import dev.strata.pgcore.protocol.replication.PgTimestamp;
import dev.strata.pgcore.protocol.replication.ReplicationMessage;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
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
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A FAKE compute, for fault injection only: it speaks just enough of PostgreSQL's replication
 * protocol (a login without a password, IDENTIFY_SYSTEM, START_REPLICATION) to stream WAL bytes the test
 * chose — real WAL with a corrupted record, or another system's id — which a real PostgreSQL
 * never sends. Everything else a safekeeper meets in tests is a real PostgreSQL 17.
 */
public final class FakeCompute implements AutoCloseable {

    public static final String USER = "fake";
    public static final String PASSWORD = "fake-password";

    private final long systemId;
    private final Lsn walStart;
    private final byte[] wal;
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel server;

    /** Serves {@code wal}, whose first byte is at {@code walStart}, as system {@code systemId}. */
    public FakeCompute(long systemId, Lsn walStart, byte[] wal) throws InterruptedException {
        this.systemId = systemId;
        this.walStart = walStart;
        this.wal = wal;
        this.server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast("codec", new PgServerCodec(ProtocolLimits.DEFAULT)).addLast("session", new Session());
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
    }

    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    @Override
    public void close() {
        server.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    private final class Session extends SimpleChannelInboundHandler<FrontendMessage> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FrontendMessage msg) {
            switch (msg) {
                case FrontendMessage.SSLRequest m -> ctx.writeAndFlush(BackendMessage.EncryptionResponse.REFUSED);
                // Trust: the replication client answers only SCRAM, and a fake has no verifier to run it.
                case FrontendMessage.StartupMessage m -> {
                    ctx.write(BackendMessage.AuthenticationOk.INSTANCE);
                    ctx.writeAndFlush(BackendMessage.ReadyForQuery.IDLE);
                }
                case FrontendMessage.Query q when q.sql().startsWith("IDENTIFY_SYSTEM") -> {
                    ctx.write(new BackendMessage.RowDescription(List.of(
                            BackendMessage.Field.text("systemid", BackendMessage.Field.TEXT_OID),
                            BackendMessage.Field.text("timeline", BackendMessage.Field.INT4_OID),
                            BackendMessage.Field.text("xlogpos", BackendMessage.Field.TEXT_OID),
                            BackendMessage.Field.text("dbname", BackendMessage.Field.TEXT_OID))));
                    ctx.write(new BackendMessage.DataRow(Arrays.asList(bytes(Long.toUnsignedString(systemId)), bytes("1"),
                            bytes(walStart.plus(wal.length).toString()), null)));
                    ctx.write(new BackendMessage.CommandComplete("IDENTIFY_SYSTEM"));
                    ctx.writeAndFlush(BackendMessage.ReadyForQuery.IDLE);
                }
                case FrontendMessage.Query q when q.sql().startsWith("START_REPLICATION") -> {
                    // START_REPLICATION [SLOT name] PHYSICAL X/Y ...: the position follows PHYSICAL.
                    List<String> words = List.of(q.sql().split("\\s+"));
                    Lsn from = Lsn.parse(words.get(words.indexOf("PHYSICAL") + 1));
                    ctx.writeAndFlush(new BackendMessage.CopyBothResponse((byte) 0, List.of()));
                    Lsn end = walStart.plus(wal.length);
                    for (Lsn pos = from; pos.isBefore(end); ) {
                        int n = (int) Math.min(64 * 1024, end.minus(pos));
                        int off = (int) pos.minus(walStart);
                        var x = new ReplicationMessage.XLogData(pos, end, PgTimestamp.now(), Arrays.copyOfRange(wal, off, off + n));
                        ctx.writeAndFlush(new BackendMessage.CopyData(x.encode()));
                        pos = pos.plus(n);
                    }
                }
                default -> { } // status updates and the rest: ignored
            }
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
