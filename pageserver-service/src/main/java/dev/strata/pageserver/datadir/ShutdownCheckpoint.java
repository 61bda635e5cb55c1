package dev.strata.pageserver.datadir;

import dev.strata.pgcore.lsn.Lsn;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The value of a shutdown-checkpoint key ({@code Key.shutdownCheckpoint(start)}): ingest writes
 * one for every {@code CHECKPOINT_SHUTDOWN} record it meets (a compute's start or clean stop), so
 * that a basebackup at that record, long after, still knows the {@code xl_prev} the next record
 * must carry (docs/pageserver.md, the key table; decision 0032).
 * Layout (8 bytes, little-endian): u64 the start LSN of the record before the checkpoint.
 */
public record ShutdownCheckpoint(Lsn prev) {

    public static final int BYTES = 8;

    public ShutdownCheckpoint {
        if (prev == null) {
            throw new IllegalArgumentException("the record before a shutdown checkpoint must not be null");
        }
    }

    public byte[] encode() {
        return ByteBuffer.allocate(BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(prev.value()).array();
    }

    /** Decodes a value; null (the key has no value) is null. */
    public static ShutdownCheckpoint decode(byte[] value) {
        if (value == null) {
            return null;
        }
        if (value.length != BYTES) {
            throw new IllegalArgumentException("shutdown-checkpoint value of " + value.length + " bytes; expected "
                    + BYTES);
        }
        return new ShutdownCheckpoint(new Lsn(ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN).getLong()));
    }
}
