package dev.strata.proxy.http;

import dev.strata.proxy.ProxyServer;
import dev.strata.pgcore.auth.AuthException;
import dev.strata.pgcore.auth.BearerToken;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.auth.TokenVerifier;
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
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code GET /status} on a small HTTP port: the proxy's {@link ProxyServer#status()} as JSON,
 * for {@code strata status}. Read-only and on loopback by default; anything else is 404/405.
 * Every request needs an operator token ({@code Authorization: Bearer}, scope {@code admin}):
 * without one a 401, with another scope a 403 (which endpoints exist and who uses them is
 * worth something to an attacker too).
 *
 * <pre>{"endpoints":[{"endpoint":"ep1","state":"RUNNING","openConnections":1,
 *   "lastActivity":"2026-11-25T17:00:00Z","address":"127.0.0.1:5432","wakes":3}]}</pre>
 */
public final class StatusHttpServer implements AutoCloseable {

    private static final int MAX_REQUEST_BYTES = 8192;

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel server;

    private StatusHttpServer(ProxyServer proxy, String host, int port, TokenVerifier verifier) {
        try {
            server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(4096, 8192, 8192))
                                    .addLast(new HttpObjectAggregator(MAX_REQUEST_BYTES))
                                    .addLast(new Handler(proxy, verifier));
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

    /** Serves {@code GET /status} to callers with an {@code admin} token that {@code verifier} accepts. */
    public static StatusHttpServer start(ProxyServer proxy, String host, int port, TokenVerifier verifier) {
        return new StatusHttpServer(proxy, host, port, java.util.Objects.requireNonNull(verifier, "verifier"));
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
        private final TokenVerifier verifier;

        Handler(ProxyServer proxy, TokenVerifier verifier) {
            this.proxy = proxy;
            this.verifier = verifier;
        }

        /** Null when the caller holds an admin token; else why not, as an error to send. */
        private AuthException refusal(FullHttpRequest req) {
            try {
                verifier.authorize(BearerToken.fromHeader(req.headers().get(HttpHeaderNames.AUTHORIZATION)),
                        Set.of(Scope.ADMIN));
                return null;
            } catch (AuthException e) {
                return e;
            }
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            HttpResponseStatus status;
            String body;
            AuthException refused = null;
            if (!req.decoderResult().isSuccess()) {
                status = HttpResponseStatus.BAD_REQUEST;
                body = "{\"error\":\"malformed request\"}";
            } else if ((refused = refusal(req)) != null) {
                status = refused.reason().unauthenticated() ? HttpResponseStatus.UNAUTHORIZED : HttpResponseStatus.FORBIDDEN;
                body = "{\"error\":\"" + refused.getMessage().replace("\\", "\\\\").replace("\"", "\\\"") + "\"}";
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
            if (status == HttpResponseStatus.UNAUTHORIZED) {
                res.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
            }
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
