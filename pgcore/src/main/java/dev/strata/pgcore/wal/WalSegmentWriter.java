package dev.strata.pgcore.wal;

import dev.strata.pgcore.lsn.Lsn;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * Places one record into WAL segment images as PostgreSQL 17 would insert it at position E,
 * for a data directory that must start at E without the WAL before it (a basebackup).
 *
 * <p>Placement ({@link #recordStart}): mid-page the record starts at E; on a page boundary
 * PostgreSQL first writes a page header, so the record starts at E + 24, or E + 40 on a
 * segment boundary (long header). A record that does not fit on its page continues on the
 * next with {@code XLP_FIRST_IS_CONTRECORD} and {@code xlp_rem_len} = the record bytes still
 * to come, also across a segment.
 *
 * <p>What the images hold: the first page of each segment has a valid long header (system
 * id, segment size, page size), since PostgreSQL checks it before reading any page of the
 * segment; each page the record touches has a valid header; everything else is zeros,
 * including the bytes of E's page before E (the pageserver does not keep raw WAL). So a
 * reader starting at the segment start sees end-of-WAL before E; startup (which reads the
 * checkpoint record at its location) and replication from E do not read those bytes.
 * Pages are materialised only where non-zero: an image costs a few pages of memory.
 */
public final class WalSegmentWriter {

    /** One WAL segment file: its first LSN and the non-zero pages (index → page bytes); all other bytes are zero. */
    public record Segment(Lsn start, int segmentSize, int pageSize, NavigableMap<Integer, byte[]> pages) {

        /** The file name in {@code pg_wal/}. */
        public String fileName(int timeline) {
            return start.walFileName(timeline, segmentSize);
        }

        /** Writes the whole segment ({@code segmentSize} bytes). */
        public void writeTo(OutputStream out) throws IOException {
            byte[] zeros = new byte[pageSize];
            int pageCount = segmentSize / pageSize;
            for (int i = 0; i < pageCount; i++) {
                byte[] page = pages.get(i);
                out.write(page != null ? page : zeros);
            }
        }

        /** The whole segment as one array (tests; 16 MB by default). */
        public byte[] toBytes() {
            byte[] all = new byte[segmentSize];
            pages.forEach((i, page) -> System.arraycopy(page, 0, all, i * pageSize, pageSize));
            return all;
        }
    }

    /** Where the record landed: its start (the checkpoint location), its end (aligned), and the segment images. */
    public record Placed(Lsn recordLsn, Lsn endLsn, List<Segment> segments) {
    }

    private WalSegmentWriter() {
    }

    /**
     * Where a record inserted at {@code insertAt} starts ({@code XLogBytePosToRecPtr}): E itself
     * mid-page, E + 24 on a page boundary, E + 40 on a segment boundary.
     */
    public static Lsn recordStart(Lsn insertAt, int pageSize, int segmentSize) {
        WalPageHeader.checkSizes(insertAt, pageSize, segmentSize);
        if (insertAt.value() % 8 != 0) {
            throw new IllegalArgumentException("WAL insert position " + insertAt + " is not 8-byte aligned");
        }
        int pageOffset = insertAt.pageOffset(pageSize);
        if (pageOffset == 0) {
            return insertAt.plus(insertAt.segmentOffset(segmentSize) == 0 ? WalPageHeader.LONG_SIZE
                    : WalPageHeader.SHORT_SIZE);
        }
        int headerSize = insertAt.segmentOffset(segmentSize) < pageSize ? WalPageHeader.LONG_SIZE
                : WalPageHeader.SHORT_SIZE;
        if (pageOffset < headerSize) {
            throw new IllegalArgumentException("WAL insert position " + insertAt + " is inside a page header");
        }
        return insertAt;
    }

    /**
     * Places {@code record} (from {@link WalRecordWriter}) at {@code recordLsn}, which must be
     * {@link #recordStart} of some insert position. Returns every segment the record touches.
     */
    public static Placed place(long systemId, int timeline, int pageSize, int segmentSize, Lsn recordLsn,
                               byte[] record) {
        if (!recordStart(recordLsn, pageSize, segmentSize).equals(recordLsn)) {
            throw new IllegalArgumentException("record position " + recordLsn + " is not where a record starts");
        }
        if (record.length < RecordHeader.SIZE) {
            throw new IllegalArgumentException("record of " + record.length + " bytes is shorter than its header");
        }
        TreeMap<Long, TreeMap<Integer, byte[]>> bySegment = new TreeMap<>();
        long pos = recordLsn.value();
        int written = 0;
        boolean first = true;
        while (written < record.length) {
            Lsn p = Lsn.of(pos);
            long segNo = p.segmentNumber(segmentSize);
            TreeMap<Integer, byte[]> pages = bySegment.computeIfAbsent(segNo, n -> new TreeMap<>());
            int pageIndex = p.segmentOffset(segmentSize) / pageSize;
            byte[] page = pages.get(pageIndex);
            if (page == null) {
                page = new byte[pageSize];
                pages.put(pageIndex, page);
                int info = first ? 0 : WalPageHeader.FIRST_IS_CONTRECORD;
                long remLen = first ? 0 : record.length - written;
                writeHeader(page, Lsn.of(pos - p.pageOffset(pageSize)), pageIndex == 0, info, remLen, timeline,
                        systemId, segmentSize, pageSize);
                if (!first) {
                    pos += pageIndex == 0 ? WalPageHeader.LONG_SIZE : WalPageHeader.SHORT_SIZE;
                }
            }
            int offset = Lsn.of(pos).pageOffset(pageSize);
            int n = Math.min(pageSize - offset, record.length - written);
            System.arraycopy(record, written, page, offset, n);
            written += n;
            pos += n;
            first = false;
        }
        Lsn end = Lsn.of(pos).alignUp(8);
        List<Segment> segments = new ArrayList<>();
        for (var e : bySegment.entrySet()) {
            TreeMap<Integer, byte[]> pages = e.getValue();
            if (!pages.containsKey(0)) {
                byte[] page0 = new byte[pageSize];
                writeHeader(page0, Lsn.ofSegment(e.getKey(), segmentSize), true, 0, 0, timeline, systemId,
                        segmentSize, pageSize);
                pages.put(0, page0);
            }
            segments.add(new Segment(Lsn.ofSegment(e.getKey(), segmentSize), segmentSize, pageSize,
                    Collections.unmodifiableNavigableMap(pages)));
        }
        return new Placed(recordLsn, end, List.copyOf(segments));
    }

    private static void writeHeader(byte[] page, Lsn pageAddress, boolean longHeader, int info, long remLen,
                                    int timeline, long systemId, int segmentSize, int pageSize) {
        ByteBuffer b = ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort(0, (short) WalPageHeader.PG17_MAGIC)
                .putShort(2, (short) (info | (longHeader ? WalPageHeader.LONG_HEADER : 0)))
                .putInt(4, timeline).putLong(8, pageAddress.value()).putInt(16, (int) remLen);
        if (longHeader) {
            b.putLong(24, systemId).putInt(32, segmentSize).putInt(36, pageSize);
        }
    }
}
