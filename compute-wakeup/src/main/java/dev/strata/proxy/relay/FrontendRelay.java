package dev.strata.proxy.relay;

import dev.strata.proxy.protocol.ErrorKind;
import dev.strata.proxy.protocol.ProxyException;
import dev.strata.proxy.wake.EndpointRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

import java.util.ArrayDeque;

/**
 * Client to compute, after the startup packet: bytes as they come (authentication included:
 * the proxy never authenticates for the compute). With AUTO_READ off, the next read is
 * requested only when the last write to the compute succeeded, so a slow compute slows the
 * client instead of filling the proxy's memory. Bytes that arrive before the compute is
 * connected wait here, up to {@link #MAX_PENDING_BYTES}.
 */
public final class FrontendRelay extends ChannelInboundHandlerAdapter {

    /** A client sends nothing between its startup packet and the compute's first answer; this is slack. */
    public static final int MAX_PENDING_BYTES = 64 * 1024;

    private final ArrayDeque<ByteBuf> pending = new ArrayDeque<>();
    private int pendingBytes;
    private Channel backend;
    private ChannelFuture lastWrite;
    private ChannelHandlerContext ctx;
    private volatile EndpointRegistry.Lease lease;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    void lease(EndpointRegistry.Lease lease) {
        this.lease = lease;
    }

    /** The compute is connected and has the startup packet: send what waited and start reading. */
    void attach(Channel backend) {
        this.backend = backend;
        while (!pending.isEmpty()) {
            backend.write(pending.poll());
        }
        pendingBytes = 0;
        readAfter(backend.writeAndFlush(Unpooled.EMPTY_BUFFER), ctx);
    }

    /** The next read from the client once {@code write} (the last of this batch) is on the wire. */
    static void readAfter(ChannelFuture write, ChannelHandlerContext ctx) {
        if (write == null) {
            ctx.channel().read(); // a read that produced no bytes: keep reading
            return;
        }
        write.addListener(f -> {
            if (f.isSuccess()) {
                ctx.channel().read();
            } else {
                ctx.channel().close();
            }
        });
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf buf)) {
            ReferenceCountUtil.release(msg);
            throw new IllegalStateException("unexpected message in the relay: " + msg.getClass().getName());
        }
        EndpointRegistry.Lease l = lease;
        if (l != null) {
            l.touch();
        }
        if (backend != null) {
            lastWrite = backend.write(buf);
            return;
        }
        pendingBytes += buf.readableBytes();
        pending.add(buf);
        if (pendingBytes > MAX_PENDING_BYTES) {
            throw new ProxyException(ErrorKind.PROTOCOL, "client sent " + pendingBytes
                    + " bytes before the compute answered its startup packet (limit " + MAX_PENDING_BYTES + ")");
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (backend == null) {
            return;
        }
        backend.flush();
        readAfter(lastWrite, ctx);
        lastWrite = null;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        releasePending();
        Channels.closeOnFlush(backend);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releasePending();
    }

    private void releasePending() {
        while (!pending.isEmpty()) {
            ReferenceCountUtil.release(pending.poll());
        }
        pendingBytes = 0;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        releasePending();
        if (cause instanceof ProxyException pe) {
            Channels.closeWithError(ctx.channel(), pe.toErrorResponse());
        } else {
            ctx.close();
        }
        Channels.closeOnFlush(backend);
    }
}
