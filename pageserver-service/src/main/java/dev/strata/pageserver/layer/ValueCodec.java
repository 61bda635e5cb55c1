package dev.strata.pageserver.layer;

/**
 * The tag byte that says which {@link Value} a stored payload is. A layer file stores each
 * value as (u32 payload length, u8 tag, payload, u32 CRC-32C); this class owns the tags.
 */
final class ValueCodec {

    static final byte TAG_IMAGE = 0;
    static final byte TAG_WAL_RECORD = 1;
    static final byte TAG_WAL_RECORD_WILL_INIT = 2;

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

    /** The value for a tag, or null if the tag is unknown (the caller reports corruption). */
    static Value decode(byte tag, byte[] payload) {
        return switch (tag) {
            case TAG_IMAGE -> new Value.Image(payload);
            case TAG_WAL_RECORD -> new Value.WalRecord(payload, false);
            case TAG_WAL_RECORD_WILL_INIT -> new Value.WalRecord(payload, true);
            default -> null;
        };
    }
}
