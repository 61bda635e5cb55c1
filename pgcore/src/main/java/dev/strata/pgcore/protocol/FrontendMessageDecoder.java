package dev.strata.pgcore.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Objects;

import static dev.strata.pgcore.protocol.FrontendMessage.CANCEL_REQUEST_CODE;
import static dev.strata.pgcore.protocol.FrontendMessage.GSSENC_REQUEST_CODE;
import static dev.strata.pgcore.protocol.FrontendMessage.SSL_REQUEST_CODE;

/**
 * Server side: bytes from a client to {@link FrontendMessage}s. The connection starts in
 * the startup phase (length-prefixed packets without a type byte: SSLRequest,
 * GSSENCRequest, CancelRequest, StartupMessage) and switches to typed messages after the
 * StartupMessage.
 *
 * <p>Every length word is checked against {@link ProtocolLimits} before anything is
 * buffered; malformed input raises {@link ProtocolException} and the decoder then drops
 * all further input. Incomplete input waits for more bytes.
 */
public final class FrontendMessageDecoder extends ByteToMessageDecoder {

    /** Where the decoder is in the connection; only moves forward. */
    public enum State {
        /** Untyped packets; stays here after SSLRequest/GSSENCRequest. -> MESSAGES, CANCELLED, FAILED */
        STARTUP,
        /** Typed messages after the StartupMessage. -> FAILED */
        MESSAGES,
        /** A CancelRequest was read; the client must send nothing more. -> FAILED */
        CANCELLED,
        /** Input was rejected; everything further is discarded. Final. */
        FAILED
    }

    /** What a {@code 'p'} message holds; only the server's last authentication request tells. */
    public enum PasswordKind { PASSWORD, SASL_INITIAL_RESPONSE, SASL_RESPONSE }

    private final ProtocolLimits limits;
    private State state = State.STARTUP;
    private PasswordKind passwordKind = PasswordKind.PASSWORD;

    public FrontendMessageDecoder() {
        this(ProtocolLimits.DEFAULT);
    }

    public FrontendMessageDecoder(ProtocolLimits limits) {
        this.limits = Objects.requireNonNull(limits, "limits is null");
    }

    public State state() {
        return state;
    }

    /** Sets how the next {@code 'p'} messages are read; {@link PgServerCodec} calls it. */
    public void expectPassword(PasswordKind kind) {
        this.passwordKind = Objects.requireNonNull(kind, "kind is null");
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        try {
            switch (state) {
                case STARTUP -> decodeStartup(in, out);
                case MESSAGES -> decodeTyped(in, out);
                case CANCELLED -> {
                    if (in.isReadable()) {
                        throw new ProtocolException("unexpected data after CancelRequest");
                    }
                }
                case FAILED -> in.skipBytes(in.readableBytes());
            }
        } catch (ProtocolException e) {
            state = State.FAILED;
            in.skipBytes(in.readableBytes());
            throw e;
        }
    }

    private void decodeStartup(ByteBuf in, List<Object> out) {
        if (in.readableBytes() < 4) {
            return;
        }
        int len = in.getInt(in.readerIndex());
        if (len < 8 || len > limits.maxStartupPacketLength()) {
            throw new ProtocolException("invalid startup packet length " + len + " (must be 8 to maxStartupPacketLength="
                    + limits.maxStartupPacketLength() + ")");
        }
        if (in.readableBytes() < len) {
            return;
        }
        in.skipBytes(4);
        MessageReader r = new MessageReader(in.readSlice(len - 4), "startup packet");
        int code = r.int32("protocol version");
        switch (code) {
            case SSL_REQUEST_CODE, GSSENC_REQUEST_CODE -> {
                r.end();
                // A client must wait for the answer before sending more; bytes already here
                // would bypass encryption (CVE-2021-23222's server-side twin).
                if (in.isReadable()) {
                    throw new ProtocolException("received unencrypted data after "
                            + (code == SSL_REQUEST_CODE ? "SSL" : "GSSENC") + " request");
                }
                out.add(code == SSL_REQUEST_CODE ? FrontendMessage.SSLRequest.INSTANCE
                        : FrontendMessage.GSSENCRequest.INSTANCE);
            }
            case CANCEL_REQUEST_CODE -> {
                FrontendMessage.CancelRequest cancel =
                        new FrontendMessage.CancelRequest(r.int32("process id"), r.int32("secret key"));
                r.end();
                state = State.CANCELLED;
                out.add(cancel);
            }
            default -> {
                out.add(startupMessage(code, r));
                state = State.MESSAGES;
            }
        }
    }

    private static FrontendMessage.StartupMessage startupMessage(int version, MessageReader r) {
        if (version >>> 16 != 3) {
            throw new ProtocolException(ProtocolException.FEATURE_NOT_SUPPORTED, "unsupported frontend protocol "
                    + (version >>> 16) + "." + (version & 0xffff) + ": server supports 3.0");
        }
        LinkedHashMap<String, String> params = new LinkedHashMap<>();
        while (true) {
            String name = r.cstring("startup parameter name or list terminator");
            if (name.isEmpty()) {
                break;
            }
            String value = r.cstring("value of startup parameter " + name);
            if (params.put(name, value) != null) {
                throw new ProtocolException("startup packet: duplicate parameter " + name);
            }
        }
        r.end();
        return new FrontendMessage.StartupMessage(version, params);
    }

    private void decodeTyped(ByteBuf in, List<Object> out) {
        if (!in.isReadable()) {
            return;
        }
        byte type = in.getByte(in.readerIndex());
        int limit;
        String limitName;
        switch (type) {
            case 'p' -> {
                limit = limits.maxAuthMessageLength();
                limitName = "maxAuthMessageLength";
            }
            case 'Q', 'd', 'f' -> {
                limit = limits.maxMessageLength();
                limitName = "maxMessageLength";
            }
            case 'X', 'c', 'S', 'H' -> {
                limit = ProtocolLimits.MIN_MESSAGE_LENGTH;
                limitName = "its fixed length";
            }
            default -> throw new ProtocolException("invalid frontend message type " + Wire.describeByte(type));
        }
        MessageReader r = Wire.typedMessage(in, type, limit, limitName);
        if (r == null) {
            return;
        }
        FrontendMessage m = switch (type) {
            case 'p' -> password(r);
            case 'Q' -> new FrontendMessage.Query(r.cstring("query string"));
            case 'd' -> new FrontendMessage.CopyData(r.rest());
            case 'f' -> new FrontendMessage.CopyFail(r.cstring("error message"));
            case 'X' -> FrontendMessage.Terminate.INSTANCE;
            case 'c' -> FrontendMessage.CopyDone.INSTANCE;
            case 'S' -> FrontendMessage.Sync.INSTANCE;
            case 'H' -> FrontendMessage.Flush.INSTANCE;
            default -> throw new IllegalStateException("type checked above: " + type);
        };
        r.end();
        out.add(m);
    }

    private FrontendMessage password(MessageReader r) {
        return switch (passwordKind) {
            case PASSWORD -> new FrontendMessage.PasswordMessage(r.cstring("password"));
            case SASL_INITIAL_RESPONSE -> {
                String mechanism = r.cstring("SASL mechanism");
                int n = r.int32("SASL data length");
                yield new FrontendMessage.SASLInitialResponse(mechanism, n == -1 ? null : r.bytes(n, "SASL data"));
            }
            case SASL_RESPONSE -> new FrontendMessage.SASLResponse(r.rest());
        };
    }
}
