package dev.strata.proxy;

import dev.strata.pgcore.metrics.Sample;
import dev.strata.proxy.metrics.ProxyMetrics;
import dev.strata.proxy.wake.EndpointState;
import dev.strata.pgcore.protocol.BackendMessageEncoder;
import dev.strata.pgcore.protocol.PgServerCodec;
import dev.strata.pgcore.protocol.ProtocolLimits;
import dev.strata.proxy.cancel.CancelKeys;
import dev.strata.proxy.protocol.ErrorKind;
import dev.strata.proxy.protocol.ProxyException;
import dev.strata.proxy.protocol.StartupHandler;
import dev.strata.proxy.relay.Channels;
import dev.strata.proxy.relay.Transport;
import dev.strata.proxy.tls.LocalCertificates;
import dev.strata.proxy.wake.ComputeControl;
import dev.strata.proxy.wake.EndpointRegistry;
import dev.strata.proxy.wake.EndpointStatus;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.handler.ssl.SslContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The Postgres proxy (architecture §7): clients connect here, name an endpoint by TLS SNI or
 * {@code options=endpoint=<id>}, and are relayed to that endpoint's compute, which is woken
 * through the {@link ComputeControl} if it sleeps and suspended again after its idle timeout.
 *
 * <pre>{@code
 * try (ProxyServer proxy = ProxyServer.start(ProxyConfig.defaults().withPort(0), control)) {
 *     int port = proxy.port();  ...  proxy.status();
 * }
 * }</pre>
 *
 * Client pipeline: [tls: SniHandler, on SSLRequest] → pg: {@link PgServerCodec} (decoder
 * removed after the startup packet) → startup: {@link StartupHandler}, then relay.
 */
public final class ProxyServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);

    private final ProxyConfig config;
    private final EndpointRegistry registry;
    private final CancelKeys cancelKeys = new CancelKeys();
    private final SslContext ssl;
    private final LocalCertificates certificates;
    private final EventLoopGroup group;
    private final AtomicInteger connections = new AtomicInteger();
    private final ClientAdmission admission;
    private final ProxyMetrics metrics = new ProxyMetrics();
    private final Channel server;

    private ProxyServer(ProxyConfig config, ComputeControl control, ClientLimits limits) {
        this.config = Objects.requireNonNull(config, "config is null");
        this.admission = new ClientAdmission(Objects.requireNonNull(limits, "limits is null"), metrics);
        this.certificates = config.tlsDirectory() == null ? null : LocalCertificates.inDirectory(config.tlsDirectory());
        this.ssl = certificates == null ? null : certificates.serverContext();
        this.registry = new EndpointRegistry(control, config.wake(), config.defaultIdleTimeout(),
                config.idleSweepInterval(), metrics);
        Transport transport = Transport.best();
        this.group = new MultiThreadIoEventLoopGroup(config.ioThreads(), transport.ioHandlerFactory());
        try {
            this.server = new ServerBootstrap().group(group).channel(transport.serverChannel())
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            accept(ch);
                        }
                    })
                    .bind(config.host(), config.port()).sync().channel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            throw new IllegalStateException("interrupted while binding the proxy", e);
        } catch (RuntimeException e) {
            close();
            throw new IllegalStateException("proxy could not listen on " + config.host() + ":" + config.port()
                    + ": " + e.getMessage(), e);
        }
        log.info("proxy listening on {} (tls={}, transport={})", server.localAddress(), ssl != null, transport);
    }

    /** Binds and starts serving; close() stops it. */
    public static ProxyServer start(ProxyConfig config, ComputeControl control) {
        return start(config, control, ClientLimits.defaults());
    }

    /** As above with other per-client limits. */
    public static ProxyServer start(ProxyConfig config, ComputeControl control, ClientLimits limits) {
        return new ProxyServer(config, control, limits);
    }

    private void accept(Channel ch) {
        int n = connections.incrementAndGet();
        metrics.accepted();
        ch.closeFuture().addListener(f -> connections.decrementAndGet());
        if (n > config.maxConnections()) {
            // Refused before reading a byte; the client reads the error whatever it sent first.
            ch.pipeline().addLast(new BackendMessageEncoder());
            metrics.refused(ErrorKind.TOO_MANY_CONNECTIONS);
            Channels.closeWithError(ch, new ProxyException(ErrorKind.TOO_MANY_CONNECTIONS,
                    "too many connections to the proxy (limit " + config.maxConnections() + ")").toErrorResponse());
            return;
        }
        admission.admit(ch);
        ch.pipeline()
                .addLast(StartupHandler.CODEC, new PgServerCodec(ProtocolLimits.PRE_AUTH))
                .addLast("startup", new StartupHandler(config, ssl, registry, cancelKeys, metrics));
    }

    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    public String host() {
        return config.host();
    }

    /** The address the client listener is bound to (the configured host, the chosen port). */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) server.localAddress();
    }

    public ProxyConfig config() {
        return config;
    }

    /** The directory with ca.crt, server.crt and server.key, or null without TLS. */
    public LocalCertificates certificates() {
        return certificates;
    }

    /** Every endpoint the proxy has routed to, in id order. */
    public List<EndpointStatus> status() {
        return registry.status();
    }

    /** The endpoint was deleted: the proxy drops its entry (see {@link EndpointRegistry#forget}). */
    public void forget(dev.strata.pgcore.id.EndpointId endpoint) {
        registry.forget(endpoint);
    }

    /** Client connections open now (including ones being refused). */
    public int openConnections() {
        return connections.get();
    }

    /** Clients that have not sent their startup packet yet ({@link ClientLimits#maxStartupPending()}). */
    public int startupPending() {
        return admission.startupPending();
    }

    /** Clients past their startup packet, session not established ({@link ClientLimits#maxAuthenticating()}). */
    public int authenticating() {
        return admission.authenticating();
    }

    /** Relayed sessions that hold a proxy cancel key. */
    public int cancelKeys() {
        return cancelKeys.size();
    }

    /**
     * The proxy's metrics since the previous call (docs/proxy.md, "Metrics"): counters of the
     * interval, and the connections open and endpoints running now.
     */
    public List<Sample> metrics() {
        int running = 0;
        for (EndpointStatus s : registry.status()) {
            if (s.state() == EndpointState.RUNNING) {
                running++;
            }
        }
        return metrics.read(connections.get(), running);
    }

    /** Suspends idle endpoints now instead of at the next sweep. */
    public void suspendIdleNow() {
        registry.suspendIdle();
    }

    @Override
    public void close() {
        if (server != null) {
            server.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        registry.close();
    }
}
