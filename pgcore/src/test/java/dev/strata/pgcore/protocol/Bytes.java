package dev.strata.pgcore.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Test helpers: messages to bytes, bytes through an EmbeddedChannel, hand-built frames. */
final class Bytes {

    private Bytes() {
    }

    static byte[] frontend(FrontendMessage... messages) {
        ByteBuf out = Unpooled.buffer();
        for (FrontendMessage m : messages) {
            FrontendMessageEncoder.encode(m, out);
        }
        return toArray(out);
    }

    static byte[] backend(BackendMessage... messages) {
        ByteBuf out = Unpooled.buffer();
        for (BackendMessage m : messages) {
            BackendMessageEncoder.encode(m, out);
        }
        return toArray(out);
    }

    static byte[] toArray(ByteBuf buf) {
        byte[] b = new byte[buf.readableBytes()];
        buf.readBytes(b);
        buf.release();
        return b;
    }

    /** Writes all bytes at once and returns every decoded message. */
    static List<Object> decode(EmbeddedChannel ch, byte[] bytes) {
        ch.writeInbound(Unpooled.wrappedBuffer(bytes));
        return drain(ch);
    }

    /** Writes one byte at a time, as the slowest client would, and returns every decoded message. */
    static List<Object> decodeByteByByte(EmbeddedChannel ch, byte[] bytes) {
        for (byte b : bytes) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
        return drain(ch);
    }

    static List<Object> drain(EmbeddedChannel ch) {
        List<Object> out = new ArrayList<>();
        for (Object o = ch.readInbound(); o != null; o = ch.readInbound()) {
            out.add(o);
        }
        return out;
    }

    /** A hand-built frame: optional type byte, a length word (as given), then the body. */
    static byte[] frame(Character type, int length, byte[] body) {
        ByteBuf b = Unpooled.buffer();
        if (type != null) {
            b.writeByte(type);
        }
        b.writeInt(length);
        b.writeBytes(body);
        return toArray(b);
    }

    /** A frame whose length word is correct for the body. */
    static byte[] frame(Character type, byte[] body) {
        return frame(type, body.length + 4, body);
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] int32(int v) {
        return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }
}
