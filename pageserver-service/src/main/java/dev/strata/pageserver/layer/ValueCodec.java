package dev.strata.pageserver.layer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The tag byte that says which {@link Value} a stored payload is, and the payload's form. A
 * layer file stores each value as (u32 payload length, u8 tag, payload, u32 CRC-32C); this
 * class owns the tags.
 *
 * <p>An image with a long run of zero bytes (a page's hole between {@code pd_lower} and
 * {@code pd_upper}, an empty FSM or visibility map page) is stored without it, as PostgreSQL's
 * WAL stores full-page images: {@link #TAG_IMAGE_WITHOUT_ZEROS}, payload = u32 offset of the
 * zeros, u32 their length, the bytes before, the bytes after (format version 2). Finding the
 * run costs one pass over the image, reading it back one copy: nothing a read would notice,
 * against images that were most of the bytes written, uploaded and cached.
 */
final class ValueCodec {

    static final byte TAG_IMAGE = 0;
    static final byte TAG_WAL_RECORD = 1;
    static final byte TAG_WAL_RECORD_WILL_INIT = 2;
    static final byte TAG_IMAGE_WITHOUT_ZEROS = 3;

    /** A zero run shorter than this is stored as it is (the 8-byte header would eat the gain). */
    static final int MIN_ZEROS = 64;
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    /** A value as a layer file stores it. */
    record Encoded(byte tag, byte[] payload) {
    }

    private ValueCodec() {
    }

    static byte tag(Value value) {
        return switch (value) {
            case Value.Image i -> TAG_IMAGE;
            case Value.WalRecord r -> r.willInit() ? TAG_WAL_RECORD_WILL_INIT : TAG_WAL_RECORD;
        };
    }

    static byte[] payload(Value value) {
        return switch (value) {
            case Value.Image i -> i.bytes();
            case Value.WalRecord r -> r.payload();
        };
    }

    /** How a layer file stores {@code value}: an image without its longest zero run if that is long. */
    static Encoded encode(Value value) {
        if (!(value instanceof Value.Image image)) {
            return new Encoded(tag(value), payload(value));
        }
        byte[] page = image.bytes();
        long run = longestZeroRun(page);
        int from = (int) (run >>> 32);
        int length = (int) run;
        if (length < MIN_ZEROS) {
            return new Encoded(TAG_IMAGE, page);
        }
        byte[] out = new byte[8 + page.length - length];
        ByteBuffer.wrap(out).putInt(from).putInt(length);
        System.arraycopy(page, 0, out, 8, from);
        System.arraycopy(page, from + length, out, 8 + from, page.length - from - length);
        return new Encoded(TAG_IMAGE_WITHOUT_ZEROS, out);
    }

    /**
     * The longest run of zero bytes made of whole aligned 8-byte words, as (offset << 32 |
     * length); length 0 if there is none. Word-wise: up to 7 zero bytes at each end of a run
     * stay stored, which costs nothing that matters and keeps the scan fast.
     */
    static long longestZeroRun(byte[] b) {
        int bestFrom = 0;
        int bestLength = 0;
        int runFrom = -1;
        int words = b.length / 8;
        for (int w = 0; w <= words; w++) {
            boolean zero = w < words && (long) LONGS.get(b, w * 8) == 0L;
            if (zero) {
                if (runFrom < 0) {
                    runFrom = w * 8;
                }
            } else if (runFrom >= 0) {
                int length = w * 8 - runFrom;
                if (length > bestLength) {
                    bestLength = length;
                    bestFrom = runFrom;
                }
                runFrom = -1;
            }
        }
        return ((long) bestFrom << 32) | bestLength;
    }

    /**
     * The value stored at {@code v[at, at + length)} under {@code tag}, or null if the tag is
     * unknown or the payload does not fit its tag (the caller reports corruption).
     */
    static Value decode(byte tag, ByteBuffer v, int at, int length) {
        if (tag == TAG_IMAGE_WITHOUT_ZEROS) {
            if (length < 8) {
                return null;
            }
            int from = v.getInt(at);
            int zeros = v.getInt(at + 4);
            int stored = length - 8;
            if (from < 0 || zeros < MIN_ZEROS || from > stored || zeros > LayerFormat.MAX_VALUE_SIZE - stored) {
                return null;
            }
            byte[] page = new byte[stored + zeros];
            v.get(at + 8, page, 0, from);
            v.get(at + 8 + from, page, from + zeros, stored - from);
            return new Value.Image(page);
        }
        byte[] payload = new byte[length];
        v.get(at, payload);
        return switch (tag) {
            case TAG_IMAGE -> new Value.Image(payload);
            case TAG_WAL_RECORD -> new Value.WalRecord(payload, false);
            case TAG_WAL_RECORD_WILL_INIT -> new Value.WalRecord(payload, true);
            default -> null;
        };
    }
}
