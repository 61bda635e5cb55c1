package dev.strata.pgcore.protocol;

import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;

/**
 * Reads the fields of one framed message body. Every read is checked against the body,
 * so a field that claims more than the message holds is a {@link ProtocolException}
 * naming the message and the field, never a read past the frame or a large allocation.
 */
final class MessageReader {

    private final ByteBuf body;
    private final String message;

    MessageReader(ByteBuf body, String message) {
        this.body = body;
        this.message = message;
    }

    int remaining() {
        return body.readableBytes();
    }

    byte int8(String field) {
        need(1, field);
        return body.readByte();
    }

    short int16(String field) {
        need(2, field);
        return body.readShort();
    }

    int int32(String field) {
        need(4, field);
        return body.readInt();
    }

    long int64(String field) {
        need(8, field);
        return body.readLong();
    }

    String cstring(String field) {
        int nul = body.indexOf(body.readerIndex(), body.writerIndex(), (byte) 0);
        if (nul < 0) {
            throw new ProtocolException(message + ": missing NUL terminator in " + field);
        }
        String s = body.toString(body.readerIndex(), nul - body.readerIndex(), StandardCharsets.UTF_8);
        body.readerIndex(nul + 1);
        return s;
    }

    byte[] bytes(int n, String field) {
        if (n < 0) {
            throw new ProtocolException(message + ": negative length " + n + " for " + field);
        }
        need(n, field);
        byte[] b = new byte[n];
        body.readBytes(b);
        return b;
    }

    byte[] rest() {
        return bytes(body.readableBytes(), "data");
    }

    /** Rejects bytes the message's layout does not account for. */
    void end() {
        if (body.isReadable()) {
            throw new ProtocolException(message + ": " + body.readableBytes() + " unexpected trailing bytes");
        }
    }

    private void need(int n, String field) {
        if (body.readableBytes() < n) {
            throw new ProtocolException(message + ": message too short for " + field + " (needs " + n
                    + " bytes, " + body.readableBytes() + " left)");
        }
    }
}
