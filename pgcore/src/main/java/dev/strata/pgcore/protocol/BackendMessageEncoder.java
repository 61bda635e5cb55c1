package dev.strata.pgcore.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;

import static dev.strata.pgcore.protocol.Wire.beginMessage;
import static dev.strata.pgcore.protocol.Wire.endMessage;
import static dev.strata.pgcore.protocol.Wire.writeCString;

/**
 * Server side: {@link BackendMessage}s to bytes. Stateless, so one instance may serve
 * many channels.
 */
@ChannelHandler.Sharable
public final class BackendMessageEncoder extends MessageToByteEncoder<BackendMessage> {

    public BackendMessageEncoder() {
        super(BackendMessage.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, BackendMessage msg, ByteBuf out) {
        encode(msg, out);
    }

    /** Appends one message to {@code out}; also used by tests and by non-Netty callers. */
    public static void encode(BackendMessage msg, ByteBuf out) {
        switch (msg) {
            case BackendMessage.EncryptionResponse m -> out.writeByte(m.accepted() ? 'S' : 'N');
            case BackendMessage.Authentication m -> authentication(m, out);
            case BackendMessage.ParameterStatus m -> {
                int at = beginMessage(out, 'S');
                writeCString(out, m.name());
                writeCString(out, m.value());
                endMessage(out, at);
            }
            case BackendMessage.BackendKeyData m -> {
                int at = beginMessage(out, 'K');
                out.writeInt(m.processId());
                out.writeInt(m.secretKey());
                endMessage(out, at);
            }
            case BackendMessage.ReadyForQuery m -> {
                int at = beginMessage(out, 'Z');
                out.writeByte(m.status().code());
                endMessage(out, at);
            }
            case BackendMessage.ErrorResponse m -> fields(out, 'E', m);
            case BackendMessage.NoticeResponse m -> fields(out, 'N', m);
            case BackendMessage.RowDescription m -> {
                int at = beginMessage(out, 'T');
                out.writeShort(m.fields().size());
                for (BackendMessage.Field f : m.fields()) {
                    writeCString(out, f.name());
                    out.writeInt(f.tableOid());
                    out.writeShort(f.columnNumber());
                    out.writeInt(f.typeOid());
                    out.writeShort(f.typeSize());
                    out.writeInt(f.typeModifier());
                    out.writeShort(f.format());
                }
                endMessage(out, at);
            }
            case BackendMessage.DataRow m -> {
                int at = beginMessage(out, 'D');
                out.writeShort(m.values().size());
                for (byte[] v : m.values()) {
                    if (v == null) {
                        out.writeInt(-1);
                    } else {
                        out.writeInt(v.length);
                        out.writeBytes(v);
                    }
                }
                endMessage(out, at);
            }
            case BackendMessage.CommandComplete m -> {
                int at = beginMessage(out, 'C');
                writeCString(out, m.tag());
                endMessage(out, at);
            }
            case BackendMessage.EmptyQueryResponse m -> empty(out, 'I');
            case BackendMessage.CopyInResponse m -> copyResponse(out, 'G', m.format(), m.columnFormats());
            case BackendMessage.CopyOutResponse m -> copyResponse(out, 'H', m.format(), m.columnFormats());
            case BackendMessage.CopyBothResponse m -> copyResponse(out, 'W', m.format(), m.columnFormats());
            case BackendMessage.CopyData m -> {
                int at = beginMessage(out, 'd');
                out.writeBytes(m.data());
                endMessage(out, at);
            }
            case BackendMessage.CopyDone m -> empty(out, 'c');
            case BackendMessage.NotificationResponse m -> {
                int at = beginMessage(out, 'A');
                out.writeInt(m.processId());
                writeCString(out, m.channel());
                writeCString(out, m.payload());
                endMessage(out, at);
            }
            case BackendMessage.NegotiateProtocolVersion m -> {
                int at = beginMessage(out, 'v');
                out.writeInt(m.newestMinorVersion());
                out.writeInt(m.unrecognizedOptions().size());
                m.unrecognizedOptions().forEach(o -> writeCString(out, o));
                endMessage(out, at);
            }
        }
    }

    private static void authentication(BackendMessage.Authentication msg, ByteBuf out) {
        int at = beginMessage(out, 'R');
        switch (msg) {
            case BackendMessage.AuthenticationOk m -> out.writeInt(0);
            case BackendMessage.AuthenticationCleartextPassword m -> out.writeInt(3);
            case BackendMessage.AuthenticationMD5Password m -> {
                out.writeInt(5);
                out.writeBytes(m.salt());
            }
            case BackendMessage.AuthenticationSASL m -> {
                out.writeInt(10);
                m.mechanisms().forEach(s -> writeCString(out, s));
                out.writeByte(0);
            }
            case BackendMessage.AuthenticationSASLContinue m -> {
                out.writeInt(11);
                out.writeBytes(m.data());
            }
            case BackendMessage.AuthenticationSASLFinal m -> {
                out.writeInt(12);
                out.writeBytes(m.data());
            }
        }
        endMessage(out, at);
    }

    private static void fields(ByteBuf out, char type, BackendMessage.WithFields m) {
        int at = beginMessage(out, type);
        m.fields().forEach((code, value) -> {
            out.writeByte(code);
            writeCString(out, value);
        });
        out.writeByte(0);
        endMessage(out, at);
    }

    private static void copyResponse(ByteBuf out, char type, byte format, java.util.List<Short> formats) {
        int at = beginMessage(out, type);
        out.writeByte(format);
        out.writeShort(formats.size());
        formats.forEach(f -> out.writeShort(f));
        endMessage(out, at);
    }

    private static void empty(ByteBuf out, char type) {
        out.writeByte(type);
        out.writeInt(4);
    }
}
