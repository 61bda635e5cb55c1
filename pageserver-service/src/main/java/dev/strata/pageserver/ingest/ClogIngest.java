package dev.strata.pageserver.ingest;

import dev.strata.pageserver.key.SlruKind;
import dev.strata.pageserver.redo.StrataRecord;
import dev.strata.pgcore.wal.DecodedRecord;

import java.nio.ByteBuffer;

/**
 * CLOG records ({@code access/clog.h}, PG17: page numbers are int64). ZEROPAGE makes the page
 * zeros and its segment exist and grow; TRUNCATE removes the segments wholly before the
 * cutoff page from the SLRU directory ({@code SimpleLruTruncate} rounds the cutoff down to a
 * segment). Segment-number wraparound (2^32 xids) is not handled.
 */
final class ClogIngest implements RmgrIngest {

    static final int ZEROPAGE = 0x00;
    static final int TRUNCATE = 0x10;

    @Override
    public void ingest(DecodedRecord r, IngestContext ctx) {
        ctx.putImagesOrStop(r);
        ByteBuffer m = r.mainDataBuffer();
        switch (r.info() & 0xF0) {
            case ZEROPAGE -> {
                SlruIngest.need(r, m, 8, 8);
                ctx.zeroSlruPage(SlruKind.CLOG, SlruIngest.pageNo(r, m.getLong(0)));
            }
            case TRUNCATE -> {
                SlruIngest.need(r, m, 16, 16); // int64 pageno, u32 oldestXact, u32 oldestXactDb
                long cutoffSegment = SlruIngest.pageNo(r, m.getLong(0)) / StrataRecord.SLRU_PAGES_PER_SEGMENT;
                ctx.removeSlruSegments(SlruKind.CLOG, seg -> Integer.toUnsignedLong(seg) < cutoffSegment);
            }
            default -> throw new IngestException(r, "unknown CLOG record type");
        }
    }
}
