package dev.strata.pageserver.ingest;

import dev.strata.pgcore.wal.DecodedRecord;

import java.nio.ByteBuffer;

/** Checks shared by the SLRU managers' records. */
final class SlruIngest {

    private SlruIngest() {
    }

    /** The main data must be between {@code min} and {@code max} bytes. */
    static void need(DecodedRecord r, ByteBuffer main, int min, int max) {
        if (main.remaining() < min || main.remaining() > max) {
            throw new IngestException(r, "main data of " + main.remaining() + " bytes, expected "
                    + (min == max ? Integer.toString(min) : min + ".." + max));
        }
    }

    /** An SLRU page number: non-negative and within 32-bit segment numbering. */
    static long pageNo(DecodedRecord r, long pageNo) {
        if (pageNo < 0 || pageNo / 32 > 0xFFFF_FFFFL) {
            throw new IngestException(r, "SLRU page number " + pageNo + " out of range");
        }
        return pageNo;
    }
}
