package dev.strata.pgcore.protocol;

import dev.strata.pgcore.protocol.BackendMessage.Field;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Objects;

/**
 * Client side: bytes from a server to {@link BackendMessage}s. All messages are typed,
 * except the single byte answering an SSLRequest or GSSENCRequest, which the decoder
 * reads when told to expect it ({@link PgClientCodec} does so when it writes a request).
 *
 * <p>Every length word is checked against {@link ProtocolLimits} before anything is
 * buffered; malformed input raises {@link ProtocolException} and the decoder then drops
 * all further input. Incomplete input waits for more bytes.
 */
public final class BackendMessageDecoder extends ByteToMessageDecoder {

    /** Where the decoder is in the connection. */
    public enum State {
        /** Next comes 'S'/'N' (or an ErrorResponse from a server that does not know the request). -> MESSAGES, FAILED */
        ENCRYPTION_RESPONSE,
        /** Typed messages. -> ENCRYPTION_RESPONSE (when told), FAILED */
        MESSAGES,
        /** Input was rejected; everything further is discarded. Final. */
        FAILED
    }

    private final ProtocolLimits limits;
    private State state = State.MESSAGES;

    public BackendMessageDecoder() {
        this(ProtocolLimits.DEFAULT);
    }

    public BackendMessageDecoder(ProtocolLimits limits) {
        this.limits = Objects.requireNonNull(limits, "limits is null");
    }

    public State state() {
        return state;
    }

    /** The next byte is the server's answer to an SSLRequest or GSSENCRequest. */
    public void expectEncryptionResponse() {
        if (state == State.MESSAGES) {
            state = State.ENCRYPTION_RESPONSE;
        }
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        try {
            switch (state) {
                case ENCRYPTION_RESPONSE -> decodeEncryptionResponse(in, out);
                case MESSAGES -> decodeTyped(in, out);
                case FAILED -> in.skipBytes(in.readableBytes());
            }
        } catch (ProtocolException e) {
            state = State.FAILED;
            in.skipBytes(in.readableBytes());
            throw e;
        }
    }

    private void decodeEncryptionResponse(ByteBuf in, List<Object> out) {
        if (!in.isReadable()) {
            return;
        }
        byte b = in.getByte(in.readerIndex());
        switch (b) {
            case 'S', 'N' -> {
                in.skipBytes(1);
                // Bytes behind an 'S' would be read as if they came over TLS (CVE-2021-23214).
                if (b == 'S' && in.isReadable()) {
                    throw new ProtocolException("received unencrypted data after the encryption response");
                }
                state = State.MESSAGES;
                out.add(b == 'S' ? BackendMessage.EncryptionResponse.ACCEPTED : BackendMessage.EncryptionResponse.REFUSED);
            }
            case 'E' -> {
                // A server that does not know the request answers with an ErrorResponse.
                state = State.MESSAGES;
                decodeTyped(in, out);
            }
            default -> throw new ProtocolException("invalid response to encryption request: " + Wire.describeByte(b));
        }
    }

    private void decodeTyped(ByteBuf in, List<Object> out) {
        if (!in.isReadable()) {
            return;
        }
        byte type = in.getByte(in.readerIndex());
        int limit;
        String limitName;
        switch (type) {
            case 'R' -> {
                limit = limits.maxAuthMessageLength();
                limitName = "maxAuthMessageLength";
            }
            case 'S', 'K', 'Z', 'E', 'N', 'T', 'D', 'C', 'G', 'H', 'W', 'd', 'A', 'v' -> {
                limit = limits.maxMessageLength();
                limitName = "maxMessageLength";
            }
            case 'I', 'c' -> {
                limit = ProtocolLimits.MIN_MESSAGE_LENGTH;
                limitName = "its fixed length";
            }
            default -> throw new ProtocolException("invalid backend message type " + Wire.describeByte(type));
        }
        MessageReader r = Wire.typedMessage(in, type, limit, limitName);
        if (r == null) {
            return;
        }
        BackendMessage m = switch (type) {
            case 'R' -> authentication(r);
            case 'S' -> new BackendMessage.ParameterStatus(r.cstring("parameter name"), r.cstring("parameter value"));
            case 'K' -> new BackendMessage.BackendKeyData(r.int32("process id"), r.int32("secret key"));
            case 'Z' -> new BackendMessage.ReadyForQuery(BackendMessage.TransactionStatus.of(r.int8("status")));
            case 'E' -> new BackendMessage.ErrorResponse(fields(r));
            case 'N' -> new BackendMessage.NoticeResponse(fields(r));
            case 'T' -> rowDescription(r);
            case 'D' -> dataRow(r);
            case 'C' -> new BackendMessage.CommandComplete(r.cstring("command tag"));
            case 'I' -> BackendMessage.EmptyQueryResponse.INSTANCE;
            case 'G' -> new BackendMessage.CopyInResponse(r.int8("format"), formats(r));
            case 'H' -> new BackendMessage.CopyOutResponse(r.int8("format"), formats(r));
            case 'W' -> new BackendMessage.CopyBothResponse(r.int8("format"), formats(r));
            case 'd' -> new BackendMessage.CopyData(r.rest());
            case 'c' -> BackendMessage.CopyDone.INSTANCE;
            case 'A' -> new BackendMessage.NotificationResponse(r.int32("process id"), r.cstring("channel"),
                    r.cstring("payload"));
            case 'v' -> negotiateProtocolVersion(r);
            default -> throw new IllegalStateException("type checked above: " + type);
        };
        r.end();
        out.add(m);
    }

    private static BackendMessage.Authentication authentication(MessageReader r) {
        int code = r.int32("authentication code");
        return switch (code) {
            case 0 -> BackendMessage.AuthenticationOk.INSTANCE;
            case 3 -> BackendMessage.AuthenticationCleartextPassword.INSTANCE;
            case 5 -> new BackendMessage.AuthenticationMD5Password(r.bytes(4, "MD5 salt"));
            case 10 -> {
                List<String> mechanisms = new ArrayList<>();
                for (String m = r.cstring("SASL mechanism"); !m.isEmpty(); m = r.cstring("SASL mechanism")) {
                    mechanisms.add(m);
                }
                yield new BackendMessage.AuthenticationSASL(mechanisms);
            }
            case 11 -> new BackendMessage.AuthenticationSASLContinue(r.rest());
            case 12 -> new BackendMessage.AuthenticationSASLFinal(r.rest());
            default -> throw new ProtocolException(ProtocolException.FEATURE_NOT_SUPPORTED,
                    "unsupported authentication request code " + code);
        };
    }

    private static LinkedHashMap<Character, String> fields(MessageReader r) {
        LinkedHashMap<Character, String> fields = new LinkedHashMap<>();
        for (byte code = r.int8("field code"); code != 0; code = r.int8("field code")) {
            if (code < 0) {
                throw new ProtocolException("error/notice field code " + Wire.describeByte(code) + " is not ASCII");
            }
            fields.put((char) code, r.cstring("field " + (char) code));
        }
        return fields;
    }

    private static BackendMessage.RowDescription rowDescription(MessageReader r) {
        int n = nonNegativeCount(r.int16("field count"), "field count");
        List<Field> fields = new ArrayList<>(Math.min(n, r.remaining() / 19));
        for (int i = 0; i < n; i++) {
            fields.add(new Field(r.cstring("field name"), r.int32("table oid"), r.int16("column number"),
                    r.int32("type oid"), r.int16("type size"), r.int32("type modifier"), r.int16("format")));
        }
        return new BackendMessage.RowDescription(fields);
    }

    private static BackendMessage.DataRow dataRow(MessageReader r) {
        int n = nonNegativeCount(r.int16("column count"), "column count");
        List<byte[]> values = new ArrayList<>(Math.min(n, r.remaining() / 4));
        for (int i = 0; i < n; i++) {
            int len = r.int32("value length");
            if (len < -1) {
                throw new ProtocolException("message 'D': invalid value length " + len);
            }
            values.add(len == -1 ? null : r.bytes(len, "column value"));
        }
        return new BackendMessage.DataRow(values);
    }

    private static List<Short> formats(MessageReader r) {
        int n = nonNegativeCount(r.int16("column count"), "column count");
        List<Short> formats = new ArrayList<>(Math.min(n, r.remaining() / 2));
        for (int i = 0; i < n; i++) {
            formats.add(r.int16("column format"));
        }
        return formats;
    }

    private static BackendMessage.NegotiateProtocolVersion negotiateProtocolVersion(MessageReader r) {
        int minor = r.int32("newest minor version");
        int n = r.int32("option count");
        if (n < 0) {
            throw new ProtocolException("message 'v': negative option count " + n);
        }
        List<String> options = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            options.add(r.cstring("option name"));
        }
        return new BackendMessage.NegotiateProtocolVersion(minor, options);
    }

    private static int nonNegativeCount(short count, String what) {
        if (count < 0) {
            throw new ProtocolException(what + " is negative: " + count);
        }
        return count;
    }
}
