package dev.strata.pageserver.pageservice;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;

/** Writes {@link PageResponse}s as frames ({@link PageCodec#encodeResponse}). */
@ChannelHandler.Sharable
public final class PageResponseEncoder extends MessageToByteEncoder<PageResponse> {

    public PageResponseEncoder() {
        super(PageResponse.class);
    }

    @Override
    protected ByteBuf allocateBuffer(ChannelHandlerContext ctx, PageResponse msg, boolean preferDirect) {
        int size = msg instanceof PageResponse.Page ? 4 + 1 + 4 + 8 + PageProtocol.PAGE_SIZE
                : msg instanceof PageResponse.BasebackupChunk c ? 4 + 1 + 4 + c.bytes().length : 256;
        return preferDirect ? ctx.alloc().ioBuffer(size) : ctx.alloc().heapBuffer(size);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, PageResponse msg, ByteBuf out) {
        PageCodec.encodeResponse(msg, out);
    }
}
