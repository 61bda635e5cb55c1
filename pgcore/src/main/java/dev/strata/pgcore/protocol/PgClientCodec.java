package dev.strata.pgcore.protocol;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.CombinedChannelDuplexHandler;

/**
 * The client side of a PostgreSQL connection in one handler: {@link BackendMessageDecoder}
 * in, {@link FrontendMessageEncoder} out. Writing an SSLRequest or GSSENCRequest tells the
 * decoder that the next byte is the server's single-byte answer.
 */
public final class PgClientCodec extends CombinedChannelDuplexHandler<BackendMessageDecoder, FrontendMessageEncoder> {

    public PgClientCodec() {
        this(ProtocolLimits.DEFAULT);
    }

    public PgClientCodec(ProtocolLimits limits) {
        super(new BackendMessageDecoder(limits), new FrontendMessageEncoder());
    }

    public BackendMessageDecoder decoder() {
        return inboundHandler();
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof FrontendMessage.SSLRequest || msg instanceof FrontendMessage.GSSENCRequest) {
            decoder().expectEncryptionResponse();
        }
        super.write(ctx, msg, promise);
    }
}
