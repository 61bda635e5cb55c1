package dev.strata.pageserver.datadir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** The value of a relation-size or SLRU-segment-size key: a block count, 4 bytes little-endian. */
public final class BlockCount {

    public static final int BYTES = 4;

    private BlockCount() {
    }

    public static byte[] encode(long blocks) {
        if (blocks < 0 || blocks > 0xFFFF_FFFEL) {
            throw new IllegalArgumentException("block count out of range: " + blocks);
        }
        return ByteBuffer.allocate(BYTES).order(ByteOrder.LITTLE_ENDIAN).putInt((int) blocks).array();
    }

    /** The block count; null (no value) is -1, meaning "does not exist". */
    public static long decode(byte[] value) {
        if (value == null) {
            return -1;
        }
        if (value.length != BYTES) {
            throw new IllegalArgumentException("block count value must be " + BYTES + " bytes, got " + value.length);
        }
        return Integer.toUnsignedLong(ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN).getInt());
    }
}
