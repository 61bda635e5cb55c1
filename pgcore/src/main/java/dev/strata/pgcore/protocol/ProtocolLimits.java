package dev.strata.pgcore.protocol;

/**
 * Length limits a decoder enforces before it buffers a message, so a hostile length word
 * is a {@link ProtocolException} rather than an allocation.
 *
 * <p>Lengths are compared with the message's length word, which counts itself but not the
 * type byte, the way PostgreSQL's {@code pq_getmessage} does. Each pipeline picks its own:
 * a proxy before authentication wants {@link #PRE_AUTH}; a WAL stream wants CopyData up
 * to {@link #LARGE_MESSAGE_LIMIT}.
 *
 * @param maxStartupPacketLength limit for the untyped startup-phase packets
 * @param maxAuthMessageLength limit for authentication exchanges (password/SASL both ways)
 * @param maxMessageLength limit for every other typed message
 */
public record ProtocolLimits(int maxStartupPacketLength, int maxAuthMessageLength, int maxMessageLength) {

    /** PostgreSQL's {@code MAX_STARTUP_PACKET_LENGTH} (pqcomm.h). */
    public static final int MAX_STARTUP_PACKET_LENGTH = 10_000;
    /** PostgreSQL's {@code PG_MAX_AUTH_TOKEN_LENGTH}, the limit for a password/SASL message. */
    public static final int MAX_AUTH_MESSAGE_LENGTH = 65_535;
    /** PostgreSQL's {@code PQ_SMALL_MESSAGE_LIMIT}, for messages that are never large. */
    public static final int SMALL_MESSAGE_LIMIT = 10_000;
    /** PostgreSQL's {@code PQ_LARGE_MESSAGE_LIMIT} ({@code MaxAllocSize - 1}, just under 1 GiB). */
    public static final int LARGE_MESSAGE_LIMIT = 0x3fff_fffe;

    /** The smallest length word of any message: the length field itself. */
    public static final int MIN_MESSAGE_LENGTH = 4;

    /** What a PostgreSQL server accepts: CopyData and queries up to just under 1 GiB. */
    public static final ProtocolLimits DEFAULT =
            new ProtocolLimits(MAX_STARTUP_PACKET_LENGTH, MAX_AUTH_MESSAGE_LENGTH, LARGE_MESSAGE_LIMIT);
    /** For a connection that has not authenticated yet: nothing large is legitimate. */
    public static final ProtocolLimits PRE_AUTH =
            new ProtocolLimits(MAX_STARTUP_PACKET_LENGTH, MAX_AUTH_MESSAGE_LENGTH, SMALL_MESSAGE_LIMIT);

    public ProtocolLimits {
        if (maxStartupPacketLength < 8) {
            throw new IllegalArgumentException("maxStartupPacketLength must be >= 8: " + maxStartupPacketLength);
        }
        if (maxAuthMessageLength < MIN_MESSAGE_LENGTH) {
            throw new IllegalArgumentException("maxAuthMessageLength must be >= 4: " + maxAuthMessageLength);
        }
        if (maxMessageLength < MIN_MESSAGE_LENGTH) {
            throw new IllegalArgumentException("maxMessageLength must be >= 4: " + maxMessageLength);
        }
    }

    public ProtocolLimits withMaxMessageLength(int length) {
        return new ProtocolLimits(maxStartupPacketLength, maxAuthMessageLength, length);
    }
}
