package dev.strata.pageserver.pageservice;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Frames and decodes page-service client frames: {@code u32 length}, then that many bytes (at
 * most {@link PageProtocol#MAX_REQUEST_FRAME}; an {@link PageProtocol#AUTHENTICATE} frame, which
 * carries a token, at most {@link PageProtocol#MAX_AUTHENTICATE_FRAME}). A bad frame raises a
 * {@link ProtocolException} once; everything after it is discarded (the handler answers with an
 * error frame and closes). Nothing here knows about authentication beyond that bound.
 */
public final class PageRequestDecoder extends ByteToMessageDecoder {

    private boolean failed;

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        while (in.readableBytes() >= 4) {
            long length = in.getUnsignedInt(in.readerIndex());
            if (length > PageProtocol.MAX_REQUEST_FRAME && length <= PageProtocol.MAX_AUTHENTICATE_FRAME) {
                if (in.readableBytes() < 5) {
                    return; // the type decides which bound applies
                }
                if ((in.getUnsignedByte(in.readerIndex() + 4)) != PageProtocol.AUTHENTICATE) {
                    fail(in);
                    throw new ProtocolException("request frame length " + length + " is outside 1.."
                            + PageProtocol.MAX_REQUEST_FRAME + " (only AUTHENTICATE may be up to "
                            + PageProtocol.MAX_AUTHENTICATE_FRAME + ")");
                }
            } else if (length < 1 || length > PageProtocol.MAX_REQUEST_FRAME) {
                fail(in);
                throw new ProtocolException("request frame length " + length + " is outside 1.."
                        + PageProtocol.MAX_REQUEST_FRAME + " (AUTHENTICATE: 1.." + PageProtocol.MAX_AUTHENTICATE_FRAME
                        + ")");
            }
            if (in.readableBytes() < 4 + length) {
                return;
            }
            in.skipBytes(4);
            ByteBuf frame = in.readSlice((int) length);
            try {
                out.add(PageCodec.decodeRequest(frame.nioBuffer()));
            } catch (ProtocolException e) {
                fail(in);
                throw e;
            }
        }
    }

    private void fail(ByteBuf in) {
        failed = true;
        in.skipBytes(in.readableBytes());
    }
}
