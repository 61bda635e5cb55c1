package dev.strata.pgcore.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;

import static dev.strata.pgcore.protocol.Wire.beginMessage;
import static dev.strata.pgcore.protocol.Wire.beginUntyped;
import static dev.strata.pgcore.protocol.Wire.endMessage;
import static dev.strata.pgcore.protocol.Wire.writeCString;

/**
 * Client side: {@link FrontendMessage}s to bytes, startup-phase packets without a type
 * byte and everything else typed. Stateless, so one instance may serve many channels.
 */
@ChannelHandler.Sharable
public final class FrontendMessageEncoder extends MessageToByteEncoder<FrontendMessage> {

    public FrontendMessageEncoder() {
        super(FrontendMessage.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, FrontendMessage msg, ByteBuf out) {
        encode(msg, out);
    }

    /** Appends one message to {@code out}; also used by tests and by non-Netty callers. */
    public static void encode(FrontendMessage msg, ByteBuf out) {
        switch (msg) {
            case FrontendMessage.SSLRequest m -> requestCode(out, FrontendMessage.SSL_REQUEST_CODE);
            case FrontendMessage.GSSENCRequest m -> requestCode(out, FrontendMessage.GSSENC_REQUEST_CODE);
            case FrontendMessage.CancelRequest m -> {
                out.writeInt(16);
                out.writeInt(FrontendMessage.CANCEL_REQUEST_CODE);
                out.writeInt(m.processId());
                out.writeInt(m.secretKey());
            }
            case FrontendMessage.StartupMessage m -> {
                int at = beginUntyped(out);
                out.writeInt(m.protocolVersion());
                m.parameters().forEach((k, v) -> {
                    writeCString(out, k);
                    writeCString(out, v);
                });
                out.writeByte(0);
                endMessage(out, at);
            }
            case FrontendMessage.PasswordMessage m -> {
                int at = beginMessage(out, 'p');
                writeCString(out, m.password());
                endMessage(out, at);
            }
            case FrontendMessage.SASLInitialResponse m -> {
                int at = beginMessage(out, 'p');
                writeCString(out, m.mechanism());
                if (m.data() == null) {
                    out.writeInt(-1);
                } else {
                    out.writeInt(m.data().length);
                    out.writeBytes(m.data());
                }
                endMessage(out, at);
            }
            case FrontendMessage.SASLResponse m -> {
                int at = beginMessage(out, 'p');
                out.writeBytes(m.data());
                endMessage(out, at);
            }
            case FrontendMessage.Query m -> {
                int at = beginMessage(out, 'Q');
                writeCString(out, m.sql());
                endMessage(out, at);
            }
            case FrontendMessage.CopyData m -> {
                int at = beginMessage(out, 'd');
                out.writeBytes(m.data());
                endMessage(out, at);
            }
            case FrontendMessage.CopyFail m -> {
                int at = beginMessage(out, 'f');
                writeCString(out, m.message());
                endMessage(out, at);
            }
            case FrontendMessage.Terminate m -> empty(out, 'X');
            case FrontendMessage.CopyDone m -> empty(out, 'c');
            case FrontendMessage.Sync m -> empty(out, 'S');
            case FrontendMessage.Flush m -> empty(out, 'H');
        }
    }

    private static void requestCode(ByteBuf out, int code) {
        out.writeInt(8);
        out.writeInt(code);
    }

    private static void empty(ByteBuf out, char type) {
        out.writeByte(type);
        out.writeInt(4);
    }
}
