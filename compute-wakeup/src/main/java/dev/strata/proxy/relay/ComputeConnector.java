package dev.strata.proxy.relay;

import dev.strata.proxy.metrics.ProxyMetrics;
import dev.strata.pgcore.protocol.PgClientCodec;
import dev.strata.proxy.ProxyConfig;
import dev.strata.proxy.cancel.CancelKeys;
import dev.strata.proxy.protocol.ErrorKind;
import dev.strata.proxy.protocol.ProxyException;
import dev.strata.proxy.routing.Route;
import dev.strata.proxy.wake.ComputeAddress;
import dev.strata.proxy.wake.EndpointRegistry;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.CompletionException;

/**
 * One client's way to its compute after routing: look the endpoint up, count the
 * connection, get the compute's address (waking it while the client waits), connect on the
 * client's own event loop, send the startup packet without the endpoint option, then hand
 * both channels to the relays. A failed connect forgets the cached address and wakes again,
 * up to {@link ProxyConfig#connectAttempts()}; any failure ends with a FATAL ErrorResponse.
 */
public final class ComputeConnector {

    private static final Logger log = LoggerFactory.getLogger(ComputeConnector.class);

    private final Channel client;
    private final FrontendRelay frontend;
    private final Route route;
    private final ProxyConfig config;
    private final EndpointRegistry registry;
    private final CancelKeys cancelKeys;
    private final ProxyMetrics metrics;
    private EndpointRegistry.Lease lease;

    public ComputeConnector(Channel client, FrontendRelay frontend, Route route, ProxyConfig config,
                            EndpointRegistry registry, CancelKeys cancelKeys, ProxyMetrics metrics) {
        this.metrics = metrics;
        this.client = client;
        this.frontend = frontend;
        this.route = route;
        this.config = config;
        this.registry = registry;
        this.cancelKeys = cancelKeys;
    }

    public void start() {
        registry.lookup(route.endpoint()).whenComplete((spec, error) -> client.eventLoop().execute(() -> {
            if (error != null) {
                fail(error);
                return;
            }
            if (!client.isActive()) {
                return;
            }
            lease = registry.open(spec);
            frontend.lease(lease);
            client.closeFuture().addListener(f -> lease.close());
            connect(1);
        }));
    }

    private void connect(int attempt) {
        registry.address(route.endpoint()).whenComplete((address, error) -> client.eventLoop().execute(() -> {
            if (error != null) {
                fail(error);
            } else if (client.isActive()) {
                connect(address, attempt);
            }
        }));
    }

    private void connect(ComputeAddress address, int attempt) {
        ChannelFuture f = new Bootstrap().group(client.eventLoop()).channel(Transport.of(client).socketChannel())
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) config.connectTimeout().toMillis())
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(BackendRelay.CODEC, new PgClientCodec())
                                .addLast("relay", new BackendRelay(client, address, cancelKeys, lease));
                    }
                })
                .connect(address.host(), address.port());
        f.addListener(done -> {
            if (done.isSuccess()) {
                connected(f.channel());
                return;
            }
            registry.invalidate(route.endpoint(), address);
            if (attempt < config.connectAttempts()) {
                log.info("endpoint={} connect to {} failed ({}); attempt {} of {}", route.endpoint(), address,
                        done.cause().toString(), attempt + 1, config.connectAttempts());
                connect(attempt + 1);
            } else {
                fail(new ProxyException(ErrorKind.COMPUTE_UNREACHABLE, "endpoint " + route.endpoint()
                        + ": could not connect to its compute (" + config.connectAttempts() + " attempts): "
                        + done.cause().getMessage(), done.cause()));
            }
        });
    }

    private void connected(Channel backend) {
        if (!client.isActive()) {
            backend.close();
            return;
        }
        client.closeFuture().addListener(f -> Channels.closeOnFlush(backend));
        backend.writeAndFlush(route.forwardedStartup()).addListener(f -> {
            if (!f.isSuccess()) {
                fail(new ProxyException(ErrorKind.COMPUTE_UNREACHABLE, "endpoint " + route.endpoint()
                        + ": compute closed the connection", f.cause()));
                backend.close();
                return;
            }
            frontend.attach(backend);
            backend.read();
        });
    }

    private void fail(Throwable error) {
        Throwable t = error;
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        ProxyException pe = t instanceof ProxyException p ? p
                : new ProxyException(ErrorKind.INTERNAL, "endpoint " + route.endpoint() + ": " + t, t);
        log.info("endpoint={} connection refused: {} ({})", route.endpoint(), pe.getMessage(), pe.kind());
        metrics.refused(pe.kind());
        Channels.closeWithError(client, pe.toErrorResponse());
    }
}
