package dev.strata.pgcore.protocol;

import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Byte-level helpers shared by the four codecs: C strings, message framing and the
 * argument checks of the message records. Strings are UTF-8, the encoding every Strata
 * server and client uses (client_encoding UTF8).
 */
final class Wire {

    private Wire() {
    }

    static void requireCString(String what, String value) {
        Objects.requireNonNull(value, () -> what + " is null");
        if (value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(what + " contains a NUL character");
        }
    }

    static Map<Character, String> checkFields(Map<Character, String> fields) {
        Objects.requireNonNull(fields, "fields is null");
        LinkedHashMap<Character, String> copy = new LinkedHashMap<>();
        fields.forEach((k, v) -> {
            if (k == null || k == 0 || k > 0x7f) {
                throw new IllegalArgumentException("field code must be a non-NUL ASCII character: " + k);
            }
            requireCString("field " + k, v);
            copy.put(k, v);
        });
        return Collections.unmodifiableMap(copy);
    }

    static Map<Character, String> standardFields(String severity, String sqlState, String message) {
        LinkedHashMap<Character, String> fields = new LinkedHashMap<>();
        fields.put('S', severity);
        fields.put('V', severity);
        fields.put('C', sqlState);
        fields.put('M', message);
        return fields;
    }

    /** A type or code byte for an error message: the character if printable, else hex. */
    static String describeByte(int b) {
        b &= 0xff;
        return b >= 0x20 && b < 0x7f ? "'" + (char) b + "'" : String.format("0x%02x", b);
    }

    static void writeCString(ByteBuf out, String s) {
        out.writeCharSequence(s, StandardCharsets.UTF_8);
        out.writeByte(0);
    }

    /** Writes the type byte and a placeholder length; returns where the length goes. */
    static int beginMessage(ByteBuf out, char type) {
        out.writeByte(type);
        return beginUntyped(out);
    }

    static int beginUntyped(ByteBuf out) {
        int at = out.writerIndex();
        out.writeInt(0);
        return at;
    }

    /** Fills in the length word: everything from it to the end of the message. */
    static void endMessage(ByteBuf out, int lengthAt) {
        out.setInt(lengthAt, out.writerIndex() - lengthAt);
    }

    static void writeBytes(ByteBuf out, byte[] data) {
        out.writeBytes(data);
    }

    /** Rejects a length word below the minimum or above the type's limit, naming both. */
    static void checkLength(byte type, int len, int limit, String limitName) {
        if (len < ProtocolLimits.MIN_MESSAGE_LENGTH) {
            throw new ProtocolException("message " + describeByte(type) + ": invalid length " + len
                    + " (minimum " + ProtocolLimits.MIN_MESSAGE_LENGTH + ")");
        }
        if (len > limit) {
            throw new ProtocolException("message " + describeByte(type) + ": length " + len
                    + " exceeds " + limitName + "=" + limit);
        }
    }

    /**
     * The body of the typed message (type byte, int32 length, body) at the reader index, or
     * null while it has not fully arrived. The length is checked against {@code limit} as soon
     * as its four bytes are here, before anything is buffered for the body.
     */
    static MessageReader typedMessage(ByteBuf in, byte type, int limit, String limitName) {
        if (in.readableBytes() < 5) {
            return null;
        }
        int len = in.getInt(in.readerIndex() + 1);
        checkLength(type, len, limit, limitName);
        if (in.readableBytes() < 1 + len) {
            return null;
        }
        in.skipBytes(5);
        return new MessageReader(in.readSlice(len - 4), "message " + describeByte(type));
    }
}
