package dev.strata.pageserver.ingest;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.SlruKind;
import dev.strata.pageserver.redo.StrataRecord;
import dev.strata.pgcore.wal.DecodedRecord;

import java.nio.ByteBuffer;

/**
 * MultiXact records ({@code access/multixact.h}, PG17). ZERO_OFF_PAGE / ZERO_MEM_PAGE make a
 * page of the offsets or members SLRU zeros; CREATE_ID writes the multi's starting offset and
 * its members ({@code RecordNewMultiXact}: per member a status byte in its group's 4 flag
 * bytes and the xid after them, 20-byte groups, 409 per page), advances nextMulti/nextOffset
 * past it and nextXid past its members; TRUNCATE_ID removes the segments below the new
 * oldest multi and member offset and moves oldestMulti.
 */
final class MultiXactIngest implements RmgrIngest {

    static final int ZERO_OFF_PAGE = 0x00;
    static final int ZERO_MEM_PAGE = 0x10;
    static final int CREATE_ID = 0x20;
    static final int TRUNCATE_ID = 0x30;

    /** MultiXactStatusUpdate, the highest member status. */
    private static final int MAX_STATUS = 5;

    @Override
    public void ingest(DecodedRecord r, IngestContext ctx) {
        ctx.putImagesOrStop(r);
        ByteBuffer m = r.mainDataBuffer();
        switch (r.info() & 0xF0) {
            case ZERO_OFF_PAGE -> {
                SlruIngest.need(r, m, 8, 8);
                ctx.zeroSlruPage(SlruKind.MULTIXACT_OFFSETS, SlruIngest.pageNo(r, m.getLong(0)));
            }
            case ZERO_MEM_PAGE -> {
                SlruIngest.need(r, m, 8, 8);
                ctx.zeroSlruPage(SlruKind.MULTIXACT_MEMBERS, SlruIngest.pageNo(r, m.getLong(0)));
            }
            case CREATE_ID -> create(r, ctx, m);
            case TRUNCATE_ID -> {
                SlruIngest.need(r, m, 20, 20);
                int oldestMultiDb = m.getInt(0);
                int endTruncOff = m.getInt(8);
                long startTruncMemb = Integer.toUnsignedLong(m.getInt(12));
                long endTruncMemb = Integer.toUnsignedLong(m.getInt(16));
                // PerformOffsetsTruncation: segments before the one holding endTruncOff - 1.
                // (With endTruncOff at FirstMultiXactId the previous multi wraps around: nothing to cut here.)
                long lastKept = Integer.toUnsignedLong(endTruncOff) <= 1 ? 0 : Integer.toUnsignedLong(endTruncOff - 1);
                long offCutSeg = lastKept / StrataRecord.MULTIXACT_OFFSETS_PER_PAGE / StrataRecord.SLRU_PAGES_PER_SEGMENT;
                ctx.removeSlruSegments(SlruKind.MULTIXACT_OFFSETS, seg -> Integer.toUnsignedLong(seg) < offCutSeg);
                // PerformMembersTruncation: segments [start's, end's).
                long memStart = startTruncMemb / StrataRecord.MEMBERS_PER_PAGE / StrataRecord.SLRU_PAGES_PER_SEGMENT;
                long memEnd = endTruncMemb / StrataRecord.MEMBERS_PER_PAGE / StrataRecord.SLRU_PAGES_PER_SEGMENT;
                ctx.removeSlruSegments(SlruKind.MULTIXACT_MEMBERS, seg -> {
                    long s = Integer.toUnsignedLong(seg);
                    return memStart <= memEnd ? s >= memStart && s < memEnd : s >= memStart || s < memEnd;
                });
                ctx.updateCheckpoint(cp -> cp.withOldestMulti(endTruncOff, oldestMultiDb));
            }
            default -> throw new IngestException(r, "unknown multixact record type");
        }
    }

    private static void create(DecodedRecord r, IngestContext ctx, ByteBuffer m) {
        if (m.remaining() < 12) {
            throw new IngestException(r, "main data of " + m.remaining() + " bytes, xl_multixact_create needs 12");
        }
        int multi = m.getInt(0);
        int offset = m.getInt(4);
        int n = m.getInt(8);
        if (n <= 0 || (long) n * 8 != m.remaining() - 12) {
            throw new IngestException(r, n + " members need " + (12 + (long) n * 8) + " bytes, record has " + m.remaining());
        }
        int[] xids = new int[n];
        byte[] statuses = new byte[n];
        for (int i = 0; i < n; i++) {
            xids[i] = m.getInt(12 + 8 * i);
            int status = m.getInt(16 + 8 * i);
            if (status < 0 || status > MAX_STATUS) {
                throw new IngestException(r, "member " + i + " has status " + status);
            }
            statuses[i] = (byte) status;
        }
        // The offset entry.
        long offPage = Integer.toUnsignedLong(multi) / StrataRecord.MULTIXACT_OFFSETS_PER_PAGE;
        if (pageOrSkip(r, ctx, SlruKind.MULTIXACT_OFFSETS, offPage)) {
            ctx.put(slruKey(SlruKind.MULTIXACT_OFFSETS, offPage),
                    StrataRecord.toValue(new StrataRecord.MultiXactOffset(multi, offset)));
        }
        // The members, one operation per members page.
        int i = 0;
        while (i < n) {
            long memOffset = Integer.toUnsignedLong(offset + i);
            long page = memOffset / StrataRecord.MEMBERS_PER_PAGE;
            int onPage = (int) Math.min(n - i, StrataRecord.MEMBERS_PER_PAGE - memOffset % StrataRecord.MEMBERS_PER_PAGE);
            if (pageOrSkip(r, ctx, SlruKind.MULTIXACT_MEMBERS, page)) {
                ctx.put(slruKey(SlruKind.MULTIXACT_MEMBERS, page), StrataRecord.toValue(new StrataRecord.MultiXactMembers(
                        offset + i, java.util.Arrays.copyOfRange(xids, i, i + onPage),
                        java.util.Arrays.copyOfRange(statuses, i, i + onPage))));
            }
            i += onPage;
        }
        // MultiXactAdvanceNextMXact(mid + 1, moff + nmembers), then nextXid past every member.
        int nextMulti = multi + 1 == 0 ? 1 : multi + 1; // FirstMultiXactId after a wraparound
        int nextOffset = offset + n;
        ctx.updateCheckpoint(cp -> {
            int nm = (nextMulti - cp.nextMulti()) > 0 ? nextMulti : cp.nextMulti();
            int no = (nextOffset - cp.nextMultiOffset()) > 0 ? nextOffset : cp.nextMultiOffset();
            return cp.withNextMulti(nm, no);
        });
        for (int x : xids) {
            ctx.advanceNextXid(x);
        }
    }

    private static boolean pageOrSkip(DecodedRecord r, IngestContext ctx, SlruKind kind, long page) {
        if (ctx.slruPageExists(kind, page)) {
            return true;
        }
        if (ctx.base() == TimelineBase.WAL_ONLY) {
            ctx.skippedSlruChange();
            return false;
        }
        throw new IngestException(r, kind.directory() + " page " + page + " does not exist (never zeroed, or truncated)");
    }

    private static Key slruKey(SlruKind kind, long page) {
        return Key.slruPage(kind, (int) (page / StrataRecord.SLRU_PAGES_PER_SEGMENT),
                (int) (page % StrataRecord.SLRU_PAGES_PER_SEGMENT));
    }
}
