package dev.strata.pageserver.redo;

import dev.strata.pageserver.layer.Value;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.wal.DecodedRecord;

/**
 * The payload of a {@link Value.WalRecord} that holds a PostgreSQL WAL record for one of its
 * blocks, to be replayed by a Java {@link RmgrRedo} when the page is read. The other payload
 * kind, {@link StrataRecord}, starts with its version byte 1; this one starts with 2, so
 * {@link PageserverRedo} tells them apart by the first byte.
 *
 * <p>Format 2, big-endian fields, then the record exactly as PostgreSQL assembled it:
 * <pre>
 *   u8  format (2)
 *   u8  flags           bit 0: the cluster has data checksums (the page's pd_checksum is set after redo)
 *   u8  block id        the record's block reference this value belongs to
 *   u8  reserved (0)
 *   u64 start LSN       the record's LSN
 *   u64 end LSN         its end: the page's pd_lsn after redo, as PostgreSQL stamps it
 *   ... the assembled record: xl_tot_len bytes (header, block headers, images, data, main data), CRC included
 * </pre>
 * The record is decoded again with pgcore's decoder ({@link DecodedRecord#decode}), CRC checked.
 * A record that changes two pages is stored once for each, with its own block id.
 */
public record PgRecordPayload(int flags, int blockId, Lsn startLsn, Lsn endLsn, DecodedRecord record) {

    public static final int FORMAT = 2;
    public static final int FLAG_DATA_CHECKSUMS = 0x01;
    static final int HEADER = 20;

    public boolean dataChecksums() {
        return (flags & FLAG_DATA_CHECKSUMS) != 0;
    }

    /** The payload for block {@code blockId} of {@code record}. */
    public static byte[] encode(DecodedRecord record, int blockId, boolean dataChecksums) {
        if (record.block(blockId) == null) {
            throw new IllegalArgumentException("record at " + record.startLsn() + " has no block " + blockId);
        }
        byte[] out = new byte[HEADER + record.totalLength()];
        out[0] = FORMAT;
        out[1] = (byte) (dataChecksums ? FLAG_DATA_CHECKSUMS : 0);
        out[2] = (byte) blockId;
        putLong(out, 4, record.startLsn().value());
        putLong(out, 12, record.endLsn().value());
        record.copyAssembled(out, HEADER);
        return out;
    }

    /** True if the payload is of this kind (its first byte). */
    public static boolean isPgRecord(byte[] payload) {
        return payload.length > 0 && payload[0] == FORMAT;
    }

    /**
     * Decodes a payload (one copy of the record's bytes, which the decoded record owns).
     *
     * @throws IllegalArgumentException for a payload that is not format 2, is cut short, or whose
     *                                  record does not decode or lacks the block
     */
    public static PgRecordPayload decode(byte[] payload) {
        if (payload.length < HEADER) {
            throw new IllegalArgumentException("PostgreSQL record payload of " + payload.length + " bytes");
        }
        if (payload[0] != FORMAT) {
            throw new IllegalArgumentException("payload format " + (payload[0] & 0xFF) + ", expected " + FORMAT);
        }
        int flags = payload[1] & 0xFF;
        int blockId = payload[2] & 0xFF;
        Lsn start = new Lsn(getLong(payload, 4));
        Lsn end = new Lsn(getLong(payload, 12));
        byte[] assembled = java.util.Arrays.copyOfRange(payload, HEADER, payload.length);
        DecodedRecord r;
        try {
            r = DecodedRecord.decode(start, end, assembled);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("record at " + start + " does not decode: " + e.getMessage(), e);
        }
        if (r.block(blockId) == null) {
            throw new IllegalArgumentException("record at " + start + " has no block " + blockId);
        }
        return new PgRecordPayload(flags, blockId, start, end, r);
    }

    private static void putLong(byte[] b, int off, long v) {
        for (int i = 0; i < 8; i++) {
            b[off + i] = (byte) (v >>> (56 - 8 * i));
        }
    }

    private static long getLong(byte[] b, int off) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (b[off + i] & 0xFF);
        }
        return v;
    }
}
