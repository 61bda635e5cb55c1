package dev.strata.proxy.protocol;

import dev.strata.proxy.metrics.ProxyMetrics;
import dev.strata.pgcore.protocol.BackendMessage;
import dev.strata.pgcore.protocol.FrontendMessage;
import dev.strata.pgcore.protocol.FrontendMessageEncoder;
import dev.strata.pgcore.protocol.PgServerCodec;
import dev.strata.pgcore.protocol.ProtocolException;
import dev.strata.proxy.ClientAdmission;
import dev.strata.proxy.ProxyConfig;
import dev.strata.proxy.cancel.CancelKeys;
import dev.strata.proxy.relay.Channels;
import dev.strata.proxy.relay.ComputeConnector;
import dev.strata.proxy.relay.FrontendRelay;
import dev.strata.proxy.relay.Transport;
import dev.strata.proxy.routing.Route;
import dev.strata.proxy.routing.StartupRouting;
import dev.strata.proxy.wake.EndpointRegistry;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.handler.ssl.SniCompletionEvent;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.Mapping;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * A client connection's startup phase, on pgcore's {@link PgServerCodec}: answers SSLRequest
 * ('S' and TLS with SNI when the proxy has certificates, else 'N') and GSSENCRequest ('N'),
 * each at most once; sends a CancelRequest on to the compute it belongs to; routes the
 * StartupMessage ({@link StartupRouting}) and hands the connection to a
 * {@link ComputeConnector}. With {@link ProxyConfig#requireTls()} a StartupMessage that did not
 * come through TLS is refused ({@link ErrorKind#TLS_REQUIRED}). A client that does not finish within the startup timeout, or
 * sends anything malformed, gets a FATAL ErrorResponse and is closed.
 */
public final class StartupHandler extends ChannelInboundHandlerAdapter {

    public static final String CODEC = "pg";
    /** The largest TLS ClientHello the SNI handler buffers (a TLS record is at most 16 KiB plus overhead). */
    public static final int MAX_CLIENT_HELLO_BYTES = 16 * 1024 + 2048;
    private static final Logger log = LoggerFactory.getLogger(StartupHandler.class);

    private final ProxyConfig config;
    private final SslContext ssl;
    private final EndpointRegistry registry;
    private final CancelKeys cancelKeys;
    private boolean sslRequested;
    private boolean gssRequested;
    private boolean tls;
    private String sniHost;
    private ScheduledFuture<?> timeout;

    private final ProxyMetrics metrics;

    public StartupHandler(ProxyConfig config, SslContext ssl, EndpointRegistry registry, CancelKeys cancelKeys) {
        this(config, ssl, registry, cancelKeys, new ProxyMetrics());
    }

    /** As above, counting refusals in {@code metrics}. */
    public StartupHandler(ProxyConfig config, SslContext ssl, EndpointRegistry registry, CancelKeys cancelKeys,
                          ProxyMetrics metrics) {
        this.metrics = metrics;
        this.config = config;
        this.ssl = ssl;
        this.registry = registry;
        this.cancelKeys = cancelKeys;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        long ms = config.startupTimeout().toMillis();
        timeout = ctx.executor().schedule(() -> {
            log.info("client={} startup not completed within {} ms; closing", ctx.channel().remoteAddress(), ms);
            fail(ctx, new ProxyException(ErrorKind.PROTOCOL, "startup packet not received within " + ms + " ms"));
        }, ms, TimeUnit.MILLISECONDS);
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            switch (msg) {
                case FrontendMessage.SSLRequest r -> sslRequest(ctx);
                case FrontendMessage.GSSENCRequest r -> {
                    if (gssRequested || tls) {
                        throw new ProxyException(ErrorKind.PROTOCOL, "GSSENCRequest received twice or after TLS");
                    }
                    gssRequested = true;
                    ctx.writeAndFlush(BackendMessage.EncryptionResponse.REFUSED);
                }
                case FrontendMessage.CancelRequest cancel -> cancel(ctx, cancel);
                case FrontendMessage.StartupMessage startup -> startup(ctx, startup);
                default -> throw new ProxyException(ErrorKind.PROTOCOL, "unexpected message before the startup packet: "
                        + msg.getClass().getSimpleName());
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void sslRequest(ChannelHandlerContext ctx) {
        if (sslRequested || tls) {
            throw new ProxyException(ErrorKind.PROTOCOL, "SSLRequest received twice");
        }
        sslRequested = true;
        if (ssl == null) {
            ctx.writeAndFlush(BackendMessage.EncryptionResponse.REFUSED);
            return;
        }
        ctx.writeAndFlush(BackendMessage.EncryptionResponse.ACCEPTED);
        // Added right after the 'S' passed, on the event loop: no client byte can slip by
        // unencrypted (the decoder already refused bytes pipelined behind the request).
        ctx.pipeline().addFirst("tls", new SniHandler((Mapping<String, SslContext>) host -> ssl, MAX_CLIENT_HELLO_BYTES,
                config.startupTimeout().toMillis()));
    }

    private void cancel(ChannelHandlerContext ctx, FrontendMessage.CancelRequest cancel) {
        cancelTimeout();
        var target = cancelKeys.find(cancel.processId(), cancel.secretKey());
        ctx.close();
        if (target.isEmpty()) {
            log.debug("cancel request with an unknown key ignored");
            return;
        }
        var t = target.get();
        new Bootstrap().group(ctx.channel().eventLoop()).channel(Transport.of(ctx.channel()).socketChannel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) config.connectTimeout().toMillis())
                .handler(new FrontendMessageEncoder())
                .connect(t.compute().host(), t.compute().port())
                .addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        log.info("cancel to compute={} failed: {}", t.compute(), f.cause().toString());
                        return;
                    }
                    f.channel().writeAndFlush(new FrontendMessage.CancelRequest(t.computeKey().processId(),
                            t.computeKey().secretKey())).addListener(ChannelFutureListener.CLOSE);
                });
    }

    private void startup(ChannelHandlerContext ctx, FrontendMessage.StartupMessage startup) {
        if (config.requireTls() && !tls) {
            // Refused before routing: nothing about endpoints is revealed, no compute is woken.
            throw new ProxyException(ErrorKind.TLS_REQUIRED, "this proxy accepts only TLS connections: connect with"
                    + " sslmode=require (or verify-full with the proxy's CA certificate)");
        }
        ClientAdmission.startupReceived(ctx.channel()); // may refuse: too many authenticating
        cancelTimeout();
        ctx.channel().config().setAutoRead(false);
        Route route = StartupRouting.route(sniHost, startup);
        FrontendRelay frontend = new FrontendRelay();
        ctx.pipeline().replace(this, "relay", frontend);
        // From here the client's bytes are relayed, not decoded; whatever the decoder still
        // holds goes to the relay in order.
        ((PgServerCodec) ctx.pipeline().get(CODEC)).removeInboundHandler();
        log.debug("client={} endpoint={} tls={} routed", ctx.channel().remoteAddress(), route.endpoint(), tls);
        new ComputeConnector(ctx.channel(), frontend, route, config, registry, cancelKeys, metrics).start();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SniCompletionEvent sni) {
            sniHost = sni.hostname();
        } else if (evt instanceof SslHandshakeCompletionEvent done) {
            if (done.isSuccess()) {
                tls = true;
            } else {
                log.info("client={} TLS handshake failed: {}", ctx.channel().remoteAddress(), done.cause().toString());
                ctx.close();
            }
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelTimeout();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        switch (cause) {
            case ProxyException pe -> fail(ctx, pe);
            case ProtocolException pe -> {
                log.info("client={} protocol error: {}", ctx.channel().remoteAddress(), pe.getMessage());
                cancelTimeout();
                if (sslRequested && !tls && ssl != null) {
                    ctx.close(); // inside a failed TLS handshake: nothing readable can be sent
                } else {
                    Channels.closeWithError(ctx.channel(), pe.toErrorResponse());
                }
            }
            case IOException io -> ctx.close();
            default -> {
                if (sslRequested && ssl != null && !tls) {
                    log.info("client={} TLS failed: {}", ctx.channel().remoteAddress(), cause.toString());
                    ctx.close();
                } else {
                    log.warn("client={} unexpected failure", ctx.channel().remoteAddress(), cause);
                    fail(ctx, new ProxyException(ErrorKind.INTERNAL, "internal proxy error"));
                }
            }
        }
    }

    private void fail(ChannelHandlerContext ctx, ProxyException e) {
        cancelTimeout();
        log.info("client={} refused: {} ({})", ctx.channel().remoteAddress(), e.getMessage(), e.kind());
        metrics.refused(e.kind());
        Channels.closeWithError(ctx.channel(), e.toErrorResponse());
    }

    private void cancelTimeout() {
        if (timeout != null) {
            timeout.cancel(false);
            timeout = null;
        }
    }
}
