package dev.strata.pgcore.protocol;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.CombinedChannelDuplexHandler;

/**
 * The server side of a PostgreSQL connection in one handler: {@link FrontendMessageDecoder}
 * in, {@link BackendMessageEncoder} out. It watches the authentication requests going out
 * so the decoder knows whether the client's next {@code 'p'} is a password or SASL data.
 */
public final class PgServerCodec extends CombinedChannelDuplexHandler<FrontendMessageDecoder, BackendMessageEncoder> {

    public PgServerCodec() {
        this(ProtocolLimits.DEFAULT);
    }

    public PgServerCodec(ProtocolLimits limits) {
        super(new FrontendMessageDecoder(limits), new BackendMessageEncoder());
    }

    public FrontendMessageDecoder decoder() {
        return inboundHandler();
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        switch (msg) {
            case BackendMessage.AuthenticationCleartextPassword m ->
                    decoder().expectPassword(FrontendMessageDecoder.PasswordKind.PASSWORD);
            case BackendMessage.AuthenticationMD5Password m ->
                    decoder().expectPassword(FrontendMessageDecoder.PasswordKind.PASSWORD);
            case BackendMessage.AuthenticationSASL m ->
                    decoder().expectPassword(FrontendMessageDecoder.PasswordKind.SASL_INITIAL_RESPONSE);
            case BackendMessage.AuthenticationSASLContinue m ->
                    decoder().expectPassword(FrontendMessageDecoder.PasswordKind.SASL_RESPONSE);
            default -> {
            }
        }
        super.write(ctx, msg, promise);
    }
}
