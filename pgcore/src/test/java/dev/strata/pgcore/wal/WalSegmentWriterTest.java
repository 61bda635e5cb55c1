package dev.strata.pgcore.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.control.CheckPoint;
import dev.strata.pgcore.lsn.Lsn;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Synthetic checkpoint records decode with our WalDecoder (CRC, prev-link, page headers) wherever they land. */
class WalSegmentWriterTest {

    private static final int PAGE = 8192;
    private static final int SEG = 16 * 1024 * 1024;
    private static final long SYSID = 7_400_000_000_000_000_001L;
    private static final CheckPoint CP = new CheckPoint(Lsn.INVALID, 1, 1, true, 1, 745, 16384, 1, 0, 730, 1, 1,
            1, 1_764_000_000L, 0, 0, 0);

    private record Decoded(WalSegmentWriter.Placed placed, DecodedRecord record) {
    }

    /** Synthesises at {@code e} and decodes from e (as a replication client asking for E would). */
    private static Decoded synthesiseAndDecode(Lsn e, Lsn prev) {
        Lsn at = WalSegmentWriter.recordStart(e, PAGE, SEG);
        byte[] record = WalRecordWriter.shutdownCheckpoint(CP.withRedo(at), prev);
        WalSegmentWriter.Placed placed = WalSegmentWriter.place(SYSID, 1, PAGE, SEG, at, record);
        WalDecoder decoder = WalDecoder.atRecord(e, prev, PAGE, SEG);
        long pos = e.value();
        for (WalSegmentWriter.Segment s : placed.segments()) {
            byte[] bytes = s.toBytes();
            int from = (int) Math.max(0, pos - s.start().value());
            decoder.feed(bytes, from, bytes.length - from);
            pos = s.start().value() + SEG;
        }
        DecodedRecord r = decoder.poll();
        assertThat(r).as("record at %s", e).isNotNull();
        assertThat(decoder.poll()).isNull();
        assertThat(decoder.isEndOfWal()).isTrue();
        return new Decoded(placed, r);
    }

    private static void assertCheckpoint(Decoded d, Lsn expectedStart, Lsn prev) {
        DecodedRecord r = d.record();
        assertThat(r.startLsn()).isEqualTo(expectedStart).isEqualTo(d.placed().recordLsn());
        assertThat(r.endLsn()).isEqualTo(d.placed().endLsn());
        assertThat(r.prevLsn()).isEqualTo(prev);
        assertThat(r.rmid()).isZero();
        assertThat(r.info() & 0xF0).isZero();
        assertThat(r.xid()).isZero();
        assertThat(r.totalLength()).isEqualTo(114);
        CheckPoint body = CheckPoint.decode(r.mainData());
        assertThat(body.redo()).isEqualTo(expectedStart);
        assertThat(body.nextFullXid()).isEqualTo(745);
    }

    @Test
    void midPageRecordStartsAtE() {
        Lsn e = Lsn.parse("0/1A2B3C48");
        Lsn prev = Lsn.parse("0/1A2B3B00");
        Decoded d = synthesiseAndDecode(e, prev);
        assertCheckpoint(d, e, prev);
        assertThat(d.placed().endLsn()).isEqualTo(e.plus(120));
        // Only the segment's first page and E's page are non-zero; bytes before E on E's page are zeros.
        WalSegmentWriter.Segment s = d.placed().segments().getFirst();
        assertThat(s.pages().keySet()).containsExactly(0, e.segmentOffset(SEG) / PAGE);
        byte[] page = s.pages().get(e.segmentOffset(SEG) / PAGE);
        assertThat(Arrays.copyOfRange(page, 24, e.pageOffset(PAGE))).containsOnly(0);
        assertThat(s.fileName(1)).isEqualTo("00000001000000000000001A");
    }

    @Test
    void pageBoundaryPutsRecordAfterShortHeader() {
        Lsn e = Lsn.parse("0/1A2B4000");
        Lsn prev = Lsn.parse("0/1A2B3F80");
        assertCheckpoint(synthesiseAndDecode(e, prev), e.plus(24), prev);
    }

    @Test
    void segmentBoundaryPutsRecordAfterLongHeader() {
        Lsn e = Lsn.parse("0/1B000000");
        Lsn prev = Lsn.parse("0/1AFFFF80");
        Decoded d = synthesiseAndDecode(e, prev);
        assertCheckpoint(d, e.plus(40), prev);
        assertThat(d.placed().segments()).hasSize(1);
        assertThat(d.placed().segments().getFirst().start()).isEqualTo(e);
    }

    @Test
    void recordContinuesOnNextPageWithRemainingLength() {
        Lsn e = Lsn.parse("0/1A2B3FC0"); // 64 bytes left on the page
        Lsn prev = Lsn.parse("0/1A2B3F00");
        Decoded d = synthesiseAndDecode(e, prev);
        assertCheckpoint(d, e, prev);
        assertThat(d.placed().endLsn()).isEqualTo(Lsn.parse("0/1A2B4000").plus(24 + 56));
        byte[] next = d.placed().segments().getFirst().pages().get(Lsn.parse("0/1A2B4000").segmentOffset(SEG) / PAGE);
        assertThat(next[2] & WalPageHeader.FIRST_IS_CONTRECORD).isNotZero();
        assertThat(next[16]).isEqualTo((byte) 50); // 114 - 64 bytes still to come
    }

    @Test
    void recordContinuesIntoTheNextSegment() {
        Lsn e = Lsn.parse("0/1AFFFFE0"); // 32 bytes left in the segment
        Lsn prev = Lsn.parse("0/1AFFFF00");
        Decoded d = synthesiseAndDecode(e, prev);
        assertCheckpoint(d, e, prev);
        assertThat(d.placed().segments()).extracting(s -> s.fileName(1))
                .containsExactly("00000001000000000000001A", "00000001000000000000001B");
        assertThat(d.placed().endLsn()).isEqualTo(Lsn.parse("0/1B000000").plus(40 + 88));
    }

    @Test
    void streamsTheWholeSegment() throws Exception {
        Lsn e = Lsn.parse("0/1A2B3C48");
        byte[] record = WalRecordWriter.shutdownCheckpoint(CP.withRedo(e), Lsn.parse("0/1A2B3B00"));
        WalSegmentWriter.Segment s = WalSegmentWriter.place(SYSID, 1, PAGE, SEG, e, record).segments().getFirst();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        s.writeTo(out);
        assertThat(out.toByteArray()).hasSize(SEG).isEqualTo(s.toBytes());
        // The long header on the first page carries what PostgreSQL checks before reading any page.
        WalPageHeader h = WalPageHeader.parse(out.toByteArray(), 0);
        assertThat(h.isLong()).isTrue();
        assertThat(h.systemId()).isEqualTo(SYSID);
        assertThat(h.segmentSize()).isEqualTo(SEG);
        assertThat(h.pageSize()).isEqualTo(PAGE);
        assertThat(h.pageAddress()).isEqualTo(Lsn.parse("0/1A000000"));
    }

    @Test
    void corruptedSyntheticRecordFailsItsCrc() {
        Lsn e = Lsn.parse("0/1A2B3C48");
        byte[] record = WalRecordWriter.shutdownCheckpoint(CP.withRedo(e), Lsn.parse("0/1A2B3B00"));
        record[60] ^= 1;
        WalSegmentWriter.Placed placed = WalSegmentWriter.place(SYSID, 1, PAGE, SEG, e, record);
        WalDecoder decoder = WalDecoder.atRecord(e, Lsn.parse("0/1A2B3B00"), PAGE, SEG);
        byte[] bytes = placed.segments().getFirst().toBytes();
        decoder.feed(bytes, e.segmentOffset(SEG), PAGE);
        assertThatThrownBy(decoder::poll).isInstanceOf(WalDecodeException.class).hasMessageContaining("checksum");
    }

    @Test
    void refusesPositionsInsideAPageHeaderOrUnaligned() {
        assertThatThrownBy(() -> WalSegmentWriter.recordStart(Lsn.parse("0/1A2B4010"), PAGE, SEG))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0/1A2B4010");
        assertThatThrownBy(() -> WalSegmentWriter.recordStart(Lsn.parse("0/1A2B4101"), PAGE, SEG))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("aligned");
        assertThatThrownBy(() -> WalSegmentWriter.recordStart(Lsn.parse("0/1A000020"), PAGE, SEG))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("page header");
    }
}
