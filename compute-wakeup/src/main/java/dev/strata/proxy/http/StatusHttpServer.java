package dev.strata.proxy.http;

import dev.strata.proxy.ProxyServer;
import dev.strata.proxy.wake.EndpointStatus;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code GET /status} on a small HTTP port: the proxy's {@link ProxyServer#status()} as JSON,
 * for {@code strata status}. Read-only and on loopback by default; anything else is 404/405.
 *
 * <pre>{"endpoints":[{"endpoint":"ep1","state":"RUNNING","openConnections":1,
 *   "lastActivity":"2026-11-25T17:00:00Z","address":"127.0.0.1:5432","wakes":3}]}</pre>
 */
public final class StatusHttpServer implements AutoCloseable {

    private static final int MAX_REQUEST_BYTES = 8192;

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel server;

    private StatusHttpServer(ProxyServer proxy, String host, int port) {
        try {
            server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(4096, 8192, 8192))
                                    .addLast(new HttpObjectAggregator(MAX_REQUEST_BYTES))
                                    .addLast(new Handler(proxy));
                        }
                    })
                    .bind(host, port).sync().channel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            throw new IllegalStateException("interrupted while binding the status port", e);
        } catch (RuntimeException e) {
            close();
            throw new IllegalStateException("status port " + host + ":" + port + ": " + e.getMessage(), e);
        }
    }

    public static StatusHttpServer start(ProxyServer proxy, String host, int port) {
        return new StatusHttpServer(proxy, host, port);
    }

    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    /** The status as JSON (ids are DNS labels and states enum names: nothing to escape). */
    public static String json(List<EndpointStatus> status) {
        StringBuilder sb = new StringBuilder("{\"endpoints\":[");
        for (int i = 0; i < status.size(); i++) {
            EndpointStatus s = status.get(i);
            if (i > 0) {
                sb.append(',');
            }
            sb.append("{\"endpoint\":\"").append(s.endpoint()).append("\",\"state\":\"").append(s.state())
                    .append("\",\"openConnections\":").append(s.openConnections())
                    .append(",\"lastActivity\":\"").append(s.lastActivity()).append('"')
                    .append(",\"address\":").append(s.address() == null ? "null" : "\"" + s.address() + "\"")
                    .append(",\"wakes\":").append(s.wakes()).append('}');
        }
        return sb.append("]}").toString();
    }

    @Override
    public void close() {
        if (server != null) {
            server.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final ProxyServer proxy;

        Handler(ProxyServer proxy) {
            this.proxy = proxy;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            HttpResponseStatus status;
            String body;
            if (!req.decoderResult().isSuccess()) {
                status = HttpResponseStatus.BAD_REQUEST;
                body = "{\"error\":\"malformed request\"}";
            } else if (!req.uri().equals("/status")) {
                status = HttpResponseStatus.NOT_FOUND;
                body = "{\"error\":\"not found: only GET /status\"}";
            } else if (!req.method().equals(HttpMethod.GET)) {
                status = HttpResponseStatus.METHOD_NOT_ALLOWED;
                body = "{\"error\":\"only GET\"}";
            } else {
                status = HttpResponseStatus.OK;
                body = json(proxy.status());
            }
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                    Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json")
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, res.content().readableBytes());
            ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
