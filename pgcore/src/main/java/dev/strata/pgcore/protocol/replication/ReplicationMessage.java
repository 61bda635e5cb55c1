package dev.strata.pgcore.protocol.replication;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.protocol.ProtocolException;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * The physical streaming-replication messages carried inside CopyData once a server
 * answered START_REPLICATION with CopyBothResponse: XLogData and PrimaryKeepalive from
 * the server, StandbyStatusUpdate and HotStandbyFeedback from the client.
 *
 * <p>{@link #decode(byte[])} takes a CopyData payload; {@link #encode()} gives one back.
 * Times are {@link PgTimestamp} microseconds. A malformed payload is a {@link ProtocolException}.
 */
public sealed interface ReplicationMessage {

    /** Encodes this message as a CopyData payload. */
    byte[] encode();

    /** WAL bytes starting at {@code walStart}; {@code walEnd} is the server's current end of WAL. */
    record XLogData(Lsn walStart, Lsn walEnd, long sendTime, byte[] payload) implements ReplicationMessage {
        public static final byte TYPE = 'w';
        static final int HEADER = 1 + 8 + 8 + 8;

        public XLogData {
            Objects.requireNonNull(walStart, "walStart is null");
            Objects.requireNonNull(walEnd, "walEnd is null");
            Objects.requireNonNull(payload, "payload is null");
        }

        /** The position just after this message's WAL bytes. */
        public Lsn dataEnd() {
            return walStart.plus(payload.length);
        }

        @Override
        public byte[] encode() {
            return ByteBuffer.allocate(HEADER + payload.length).put(TYPE).putLong(walStart.value())
                    .putLong(walEnd.value()).putLong(sendTime).put(payload).array();
        }
    }

    /** The server's heartbeat; with {@code replyRequested} it wants a status update now. */
    record PrimaryKeepalive(Lsn walEnd, long sendTime, boolean replyRequested) implements ReplicationMessage {
        public static final byte TYPE = 'k';
        static final int LENGTH = 1 + 8 + 8 + 1;

        public PrimaryKeepalive {
            Objects.requireNonNull(walEnd, "walEnd is null");
        }

        @Override
        public byte[] encode() {
            return ByteBuffer.allocate(LENGTH).put(TYPE).putLong(walEnd.value()).putLong(sendTime)
                    .put((byte) (replyRequested ? 1 : 0)).array();
        }
    }

    /** The client's positions: received, durably flushed, applied (each the next byte). */
    record StandbyStatusUpdate(Lsn write, Lsn flush, Lsn apply, long clock, boolean replyRequested)
            implements ReplicationMessage {
        public static final byte TYPE = 'r';
        static final int LENGTH = 1 + 8 + 8 + 8 + 8 + 1;

        public StandbyStatusUpdate {
            Objects.requireNonNull(write, "write is null");
            Objects.requireNonNull(flush, "flush is null");
            Objects.requireNonNull(apply, "apply is null");
        }

        @Override
        public byte[] encode() {
            return ByteBuffer.allocate(LENGTH).put(TYPE).putLong(write.value()).putLong(flush.value())
                    .putLong(apply.value()).putLong(clock).put((byte) (replyRequested ? 1 : 0)).array();
        }
    }

    /** A hot standby's oldest needed xids (0 = none), with their epochs. */
    record HotStandbyFeedback(long clock, int xmin, int xminEpoch, int catalogXmin, int catalogXminEpoch)
            implements ReplicationMessage {
        public static final byte TYPE = 'h';
        static final int LENGTH = 1 + 8 + 4 + 4 + 4 + 4;

        @Override
        public byte[] encode() {
            return ByteBuffer.allocate(LENGTH).put(TYPE).putLong(clock).putInt(xmin).putInt(xminEpoch)
                    .putInt(catalogXmin).putInt(catalogXminEpoch).array();
        }
    }

    /** Decodes one CopyData payload of a physical replication stream. */
    static ReplicationMessage decode(byte[] data) {
        Objects.requireNonNull(data, "data is null");
        if (data.length == 0) {
            throw new ProtocolException("empty replication message");
        }
        ByteBuffer b = ByteBuffer.wrap(data);
        byte type = b.get();
        return switch (type) {
            case XLogData.TYPE -> {
                if (data.length < XLogData.HEADER) {
                    throw wrongLength("XLogData", data.length, "at least " + XLogData.HEADER);
                }
                yield new XLogData(new Lsn(b.getLong()), new Lsn(b.getLong()), b.getLong(),
                        Arrays.copyOfRange(data, XLogData.HEADER, data.length));
            }
            case PrimaryKeepalive.TYPE -> {
                exactLength("PrimaryKeepalive", data, PrimaryKeepalive.LENGTH);
                yield new PrimaryKeepalive(new Lsn(b.getLong()), b.getLong(), flag(b.get()));
            }
            case StandbyStatusUpdate.TYPE -> {
                exactLength("StandbyStatusUpdate", data, StandbyStatusUpdate.LENGTH);
                yield new StandbyStatusUpdate(new Lsn(b.getLong()), new Lsn(b.getLong()), new Lsn(b.getLong()),
                        b.getLong(), flag(b.get()));
            }
            case HotStandbyFeedback.TYPE -> {
                exactLength("HotStandbyFeedback", data, HotStandbyFeedback.LENGTH);
                yield new HotStandbyFeedback(b.getLong(), b.getInt(), b.getInt(), b.getInt(), b.getInt());
            }
            default -> throw new ProtocolException("unknown replication message type "
                    + (type >= 0x20 && type < 0x7f ? "'" + (char) type + "'" : String.format("0x%02x", type & 0xff)));
        };
    }

    private static void exactLength(String what, byte[] data, int length) {
        if (data.length != length) {
            throw wrongLength(what, data.length, String.valueOf(length));
        }
    }

    private static ProtocolException wrongLength(String what, int length, String expected) {
        return new ProtocolException(what + ": length " + length + ", expected " + expected);
    }

    private static boolean flag(byte b) {
        if (b != 0 && b != 1) {
            throw new ProtocolException("replication message: reply flag must be 0 or 1, got " + b);
        }
        return b == 1;
    }
}
