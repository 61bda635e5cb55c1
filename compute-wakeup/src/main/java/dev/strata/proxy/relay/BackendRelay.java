package dev.strata.proxy.relay;

import dev.strata.pgcore.protocol.BackendMessage;
import dev.strata.pgcore.protocol.PgClientCodec;
import dev.strata.proxy.ClientAdmission;
import dev.strata.proxy.cancel.CancelKeys;
import dev.strata.proxy.wake.ComputeAddress;
import dev.strata.proxy.wake.EndpointRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Compute to client. Until the compute's first ReadyForQuery the stream is decoded (pgcore's
 * {@link PgClientCodec}) so the secret key in the compute's BackendKeyData can be swapped for a
 * proxy secret ({@link CancelKeys}; the pid stays the compute's); then the decoder is removed and bytes pass as they are. Backpressure
 * as in {@link FrontendRelay}: the next read from the compute only after the client took the last.
 */
public final class BackendRelay extends ChannelInboundHandlerAdapter {

    public static final String CODEC = "pg";
    /** The client pipeline's PgServerCodec (decoder already removed after the startup packet). */
    public static final String CLIENT_CODEC = "pg";
    private static final Logger log = LoggerFactory.getLogger(BackendRelay.class);

    private final Channel client;
    private final ComputeAddress compute;
    private final CancelKeys cancelKeys;
    private final EndpointRegistry.Lease lease;
    private BackendMessage.BackendKeyData proxyKey;
    private ChannelFuture lastWrite;

    public BackendRelay(Channel client, ComputeAddress compute, CancelKeys cancelKeys, EndpointRegistry.Lease lease) {
        this.client = client;
        this.compute = compute;
        this.cancelKeys = cancelKeys;
        this.lease = lease;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        lease.touch();
        switch (msg) {
            case ByteBuf buf -> lastWrite = client.write(buf);
            case BackendMessage.BackendKeyData key -> {
                if (proxyKey != null) {
                    cancelKeys.remove(proxyKey);
                }
                proxyKey = cancelKeys.register(new CancelKeys.Target(compute, key));
                lastWrite = client.write(proxyKey);
            }
            case BackendMessage.ReadyForQuery ready -> {
                lastWrite = client.write(ready);
                ClientAdmission.established(client);
                // Session established: from here on the proxy only moves bytes. Bytes the
                // decoder still holds come back to channelRead as a ByteBuf, in order.
                ((PgClientCodec) ctx.pipeline().get(CODEC)).removeInboundHandler();
                ctx.pipeline().remove(CODEC);
                if (client.pipeline().get(CLIENT_CODEC) != null) {
                    client.pipeline().remove(CLIENT_CODEC); // its encoder just wrote the last message
                }
            }
            case BackendMessage m -> lastWrite = client.write(m);
            default -> {
                ReferenceCountUtil.release(msg);
                throw new IllegalStateException("unexpected message from the compute: " + msg.getClass().getName());
            }
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        client.flush();
        FrontendRelay.readAfter(lastWrite, ctx);
        lastWrite = null;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (proxyKey != null) {
            cancelKeys.remove(proxyKey);
        }
        Channels.closeOnFlush(client);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.warn("compute={} connection failed: {}", compute, cause.toString());
        ctx.close();
        Channels.closeOnFlush(client);
    }
}
