package dev.strata.pgcore.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.lsn.Lsn;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class WalDecoderTest {

    private static final int HEAP = RmgrId.HEAP.id();

    /** Records of growing sizes: many start, end and split at page and segment boundaries. */
    private static WalBuilder manyRecords(List<Lsn> lsns) {
        WalBuilder w = WalBuilder.small();
        Random random = new Random(42);
        for (int i = 0; i < 600; i++) {
            // Mostly page-sized records, and every 60th one spans several pages.
            byte[] data = new byte[random.nextInt(i % 60 != 59 ? 6000 : 40_000)];
            random.nextBytes(data);
            lsns.add(w.mainData(HEAP, 0x00, 1000 + i, data));
        }
        return w;
    }

    private static List<DecodedRecord> decodeInChunks(WalDecoder d, byte[] wal, int chunk) {
        List<DecodedRecord> out = new ArrayList<>();
        for (int off = 0; off < wal.length; off += chunk) {
            d.feed(wal, off, Math.min(chunk, wal.length - off));
            for (DecodedRecord r = d.poll(); r != null; r = d.poll()) {
                out.add(r);
            }
        }
        d.finish();
        return out;
    }

    @Test
    void recordsSplitAcrossPagesAndSegmentsDecodeTheSameWhateverTheChunking() {
        List<Lsn> lsns = new ArrayList<>();
        WalBuilder w = manyRecords(lsns);
        byte[] wal = w.bytes();
        assertThat(wal.length).isGreaterThan(w.segmentSize + w.segmentSize / 2); // crosses a segment boundary
        for (int chunk : new int[] {1, 7, 8192, 100_003, wal.length}) {
            List<DecodedRecord> records = decodeInChunks(WalDecoder.atSegmentStart(new Lsn(w.start)), wal, chunk);
            assertThat(records).extracting(DecodedRecord::startLsn).as("chunk " + chunk).isEqualTo(lsns);
            Lsn segmentBoundary = new Lsn(w.start + w.segmentSize);
            assertThat(records).as("a record continues into the next segment")
                    .anyMatch(r -> r.startLsn().isBefore(segmentBoundary) && r.endLsn().isAfter(segmentBoundary));
            for (int i = 0; i < records.size(); i++) {
                DecodedRecord r = records.get(i);
                assertThat(r.xid()).isEqualTo(1000 + i);
                assertThat(r.prevLsn()).isEqualTo(i == 0 ? Lsn.INVALID : lsns.get(i - 1));
                if (i + 1 < lsns.size()) {
                    // The end LSN is where the next record starts, or the page boundary before it.
                    Lsn next = lsns.get(i + 1);
                    assertThat(next.minus(r.endLsn())).isIn(0L, 24L, 40L);
                }
            }
        }
    }

    @Test
    void mainDataAndLengthsAreExact() {
        WalBuilder w = WalBuilder.small();
        byte[] shortData = "hello".getBytes();
        byte[] longData = new byte[20_000];
        new Random(1).nextBytes(longData);
        w.mainData(RmgrId.LOGICAL_MESSAGE.id(), 0, 7, shortData);
        w.mainData(RmgrId.XLOG.id(), 0xB0, 0, longData);
        List<DecodedRecord> rs = decodeInChunks(WalDecoder.atSegmentStart(new Lsn(w.start)), w.bytes(), 4096);
        assertThat(rs).hasSize(2);
        assertThat(rs.get(0).mainData()).isEqualTo(shortData);
        assertThat(rs.get(0).totalLength()).isEqualTo(24 + 2 + 5);
        assertThat(rs.get(0).recordTypeName()).isEqualTo("MESSAGE");
        assertThat(rs.get(1).mainData()).isEqualTo(longData);
        assertThat(rs.get(1).recordTypeName()).isEqualTo("FPI");
        assertThat(rs.get(1).blocks()).isEmpty();
    }

    @Test
    void zeroLengthAtARecordBoundaryIsTheEndOfWalNotAnError() {
        WalBuilder w = WalBuilder.small();
        w.mainData(HEAP, 0, 1, new byte[100]);
        Lsn last = w.mainData(HEAP, 0, 2, new byte[100]);
        Lsn end = w.position();
        WalDecoder d = WalDecoder.atSegmentStart(new Lsn(w.start));
        List<DecodedRecord> rs = decodeInChunks(d, w.zeros().bytes(), 1000);
        assertThat(rs).extracting(DecodedRecord::startLsn).last().isEqualTo(last);
        assertThat(d.isEndOfWal()).isTrue();
        assertThat(d.nextRecordLsn()).isEqualTo(end);
    }

    @Test
    void zeroedPageAtARecordBoundaryIsTheEndOfWal() {
        WalBuilder w = WalBuilder.small();
        // Fill the first page exactly: the next record would start on the (zeroed) second page.
        int body = 8192 - WalPageHeader.LONG_SIZE - RecordHeader.SIZE - 5;
        w.mainData(HEAP, 0, 1, new byte[body]);
        assertThat(w.position().value() % 8192).isZero();
        byte[] wal = Arrays.copyOf(w.bytes(), 3 * 8192);
        WalDecoder d = WalDecoder.atSegmentStart(new Lsn(w.start));
        assertThat(decodeInChunks(d, wal, 8192)).hasSize(1);
        assertThat(d.isEndOfWal()).isTrue();
    }

    @Test
    void xlogSwitchSkipsTheRestOfTheSegment() {
        WalBuilder w = WalBuilder.small();
        w.mainData(HEAP, 0, 1, new byte[10]);
        Lsn sw = w.switchSegment();
        Lsn after = w.mainData(HEAP, 0, 2, new byte[10]);
        List<DecodedRecord> rs = decodeInChunks(WalDecoder.atSegmentStart(new Lsn(w.start)), w.bytes(), 65536);
        assertThat(rs).extracting(DecodedRecord::startLsn).containsExactly(new Lsn(w.start + 40), sw, after);
        assertThat(rs.get(1).isSwitch()).isTrue();
        assertThat(rs.get(1).endLsn()).isEqualTo(new Lsn(w.start + w.segmentSize));
        assertThat(after).isEqualTo(new Lsn(w.start + w.segmentSize + WalPageHeader.LONG_SIZE));
    }

    @Test
    void aRecordCutByACrashAndOverwrittenAfterRecoveryIsSkipped() {
        WalBuilder w = WalBuilder.small();
        Lsn first = w.mainData(HEAP, 0, 1, new byte[100]);
        w.mainData(HEAP, 0, 2, new byte[12_000]); // continues on page 2, which the crash lost
        byte[] wal = Arrays.copyOf(w.bytes(), 3 * 8192);
        // After recovery the server writes page 2 afresh: no contrecord, the overwrite flag, and
        // an OVERWRITE_CONTRECORD record whose prev-link is the last complete record.
        Arrays.fill(wal, 8192, wal.length, (byte) 0);
        LittleEndian.putU16(wal, 8192, WalPageHeader.PG17_MAGIC);
        LittleEndian.putU16(wal, 8194, WalPageHeader.FIRST_IS_OVERWRITE_CONTRECORD);
        LittleEndian.putI32(wal, 8196, 1);
        LittleEndian.putI64(wal, 8200, w.start + 8192);
        byte[] overwrite = WalBuilder.recordBytes(RmgrId.XLOG.id(), 0xD0, 0, first.value(), WalBuilder.mainDataBody(new byte[16]));
        System.arraycopy(overwrite, 0, wal, 8192 + 24, overwrite.length);
        WalDecoder d = WalDecoder.atSegmentStart(new Lsn(w.start));
        List<DecodedRecord> rs = decodeInChunks(d, wal, 3000);
        assertThat(rs).extracting(DecodedRecord::startLsn).containsExactly(first, new Lsn(w.start + 8192 + 24));
        assertThat(rs.get(1).recordTypeName()).isEqualTo("OVERWRITE_CONTRECORD");
        assertThat(d.abortedRecords()).isEqualTo(1);
        assertThat(d.isEndOfWal()).isTrue();
    }

    @Test
    void decodingCanStartAtAnyRecordWithTheExpectedPrevLink() {
        List<Lsn> lsns = new ArrayList<>();
        WalBuilder w = manyRecords(lsns);
        byte[] wal = w.bytes();
        for (int i : new int[] {1, 57, 123, 599}) {
            Lsn from = lsns.get(i);
            WalDecoder d = WalDecoder.atRecord(from, lsns.get(i - 1), w.pageSize, w.segmentSize);
            int off = (int) from.minus(new Lsn(w.start));
            List<DecodedRecord> rs = decodeInChunks(d, Arrays.copyOfRange(wal, off, wal.length), 5000);
            assertThat(rs).extracting(DecodedRecord::startLsn).isEqualTo(lsns.subList(i, lsns.size()));
        }
        WalDecoder wrongPrev = WalDecoder.atRecord(lsns.get(5), lsns.get(3), w.pageSize, w.segmentSize);
        int off = (int) lsns.get(5).minus(new Lsn(w.start));
        wrongPrev.feed(Arrays.copyOfRange(wal, off, off + 9000));
        assertThatThrownBy(wrongPrev::poll).isInstanceOf(WalDecodeException.class)
                .hasMessageContaining("incorrect prev-link").hasMessageContaining(lsns.get(5).toString());
    }

    @Test
    void badCrcNamesTheRecordLsn() {
        List<Lsn> lsns = new ArrayList<>();
        byte[] wal = manyRecords(lsns).bytes();
        Lsn victim = lsns.get(10);
        int off = (int) victim.minus(new Lsn(16L * 1024 * 1024));
        wal[off + RecordHeader.SIZE + 3] ^= 0x40; // a data byte
        WalDecoder d = WalDecoder.atSegmentStart(new Lsn(16L * 1024 * 1024));
        assertThatThrownBy(() -> decodeInChunks(d, wal, 10_000)).isInstanceOf(WalDecodeException.class)
                .hasMessageContaining("checksum").extracting(e -> ((WalDecodeException) e).lsn()).isEqualTo(victim);
        assertThatThrownBy(d::poll).as("stays failed").isInstanceOf(WalDecodeException.class);
    }

    @Test
    void truncatedStreamFailsOnFinishNamingTheRecord() {
        WalBuilder w = WalBuilder.small();
        w.mainData(HEAP, 0, 1, new byte[100]);
        Lsn cut = w.mainData(HEAP, 0, 2, new byte[20_000]);
        byte[] wal = w.bytes();
        WalDecoder d = WalDecoder.atSegmentStart(new Lsn(w.start));
        d.feed(wal, 0, wal.length - 100);
        assertThat(d.poll()).isNotNull();
        assertThat(d.poll()).isNull(); // waits for more bytes: not an error yet
        assertThatThrownBy(d::finish).isInstanceOf(WalDecodeException.class)
                .hasMessageContaining("truncated").extracting(e -> ((WalDecodeException) e).lsn()).isEqualTo(cut);
    }

    @Test
    void recordLongerThanTheStreamAndImpossibleLengthsAreRejected() {
        WalBuilder w = WalBuilder.small();
        w.mainData(HEAP, 0, 1, new byte[10]);
        byte[] huge = new byte[64];
        LittleEndian.putI32(huge, 0, (int) (WalDecoder.MAX_RECORD_LENGTH + 1));
        Lsn bad = w.raw(huge);
        WalDecoder d = WalDecoder.atSegmentStart(new Lsn(w.start));
        assertThatThrownBy(() -> decodeInChunks(d, w.bytes(), 4096)).isInstanceOf(WalDecodeException.class)
                .hasMessageContaining("invalid record length").extracting(e -> ((WalDecodeException) e).lsn()).isEqualTo(bad);

        WalBuilder w2 = WalBuilder.small();
        byte[] tooShort = new byte[24];
        LittleEndian.putI32(tooShort, 0, 12);
        w2.raw(tooShort);
        assertThatThrownBy(() -> decodeInChunks(WalDecoder.atSegmentStart(new Lsn(w2.start)), w2.bytes(), 100))
                .isInstanceOf(WalDecodeException.class).hasMessageContaining("invalid record length: 12");
    }

    @Test
    void pageHeaderProblemsNameThePage() {
        List<Lsn> lsns = new ArrayList<>();
        byte[] wal = manyRecords(lsns).bytes();
        long base = 16L * 1024 * 1024;
        byte[] badMagic = wal.clone();
        badMagic[3 * 8192] = 0x15; // PG16's magic is D113..D115: any other major must be refused
        assertThatThrownBy(() -> decodeInChunks(WalDecoder.atSegmentStart(new Lsn(base)), badMagic, 8192))
                .isInstanceOf(WalDecodeException.class).hasMessageContaining("invalid magic number")
                .extracting(e -> ((WalDecodeException) e).lsn()).isEqualTo(new Lsn(base + 3 * 8192));
        byte[] badAddress = wal.clone();
        badAddress[5 * 8192 + 9] ^= 0x01;
        assertThatThrownBy(() -> decodeInChunks(WalDecoder.atSegmentStart(new Lsn(base)), badAddress, 8192))
                .isInstanceOf(WalDecodeException.class).hasMessageContaining("unexpected page address");
        byte[] otherSystem = wal.clone();
        otherSystem[1024 * 1024 + 24] ^= 0x01; // the second segment's system identifier
        assertThatThrownBy(() -> decodeInChunks(WalDecoder.atSegmentStart(new Lsn(base)), otherSystem, 8192))
                .isInstanceOf(WalDecodeException.class).hasMessageContaining("belongs to system")
                .extracting(e -> ((WalDecodeException) e).lsn()).isEqualTo(new Lsn(base + 1024 * 1024));
        byte[] badRemLen = wal.clone();
        int page = findContinuationPage(wal);
        badRemLen[page + 16] ^= 0x01;
        assertThatThrownBy(() -> decodeInChunks(WalDecoder.atSegmentStart(new Lsn(base)), badRemLen, 8192))
                .isInstanceOf(WalDecodeException.class).hasMessageContaining("invalid contrecord length");
        byte[] missingContFlag = wal.clone();
        missingContFlag[page + 2] &= ~WalPageHeader.FIRST_IS_CONTRECORD;
        assertThatThrownBy(() -> decodeInChunks(WalDecoder.atSegmentStart(new Lsn(base)), missingContFlag, 8192))
                .isInstanceOf(WalDecodeException.class).hasMessageContaining("no contrecord flag");
    }

    private static int findContinuationPage(byte[] wal) {
        for (int p = 8192; p < wal.length; p += 8192) {
            if ((wal[p + 2] & WalPageHeader.FIRST_IS_CONTRECORD) != 0 && (wal[p + 2] & WalPageHeader.LONG_HEADER) == 0) {
                return p;
            }
        }
        throw new AssertionError("no continuation page");
    }

    @Test
    void randomGarbageNeverHangsNorEscapesAsAnotherException() {
        Random random = new Random(7);
        long base = 16L * 1024 * 1024;
        for (int round = 0; round < 300; round++) {
            WalBuilder w = WalBuilder.small();
            w.mainData(HEAP, 0, 1, new byte[50]);
            byte[] good = w.bytes();
            byte[] wal = Arrays.copyOf(good, good.length + 20_000);
            for (int i = good.length; i < wal.length; i++) {
                wal[i] = (byte) random.nextInt();
            }
            decodeExpectingOnlyWalErrors(WalDecoder.atSegmentStart(new Lsn(base)), wal, 1 + random.nextInt(9000));
        }
    }

    @Test
    void bitFlipsInValidWalNeverYieldASilentlyWrongRecord() {
        List<Lsn> lsns = new ArrayList<>();
        byte[] good = manyRecords(lsns).bytes();
        List<DecodedRecord> expected = decodeInChunks(WalDecoder.atSegmentStart(new Lsn(16L << 20)), good, good.length);
        Random random = new Random(11);
        for (int round = 0; round < 200; round++) {
            byte[] wal = Arrays.copyOf(good, good.length + 8192);
            int flips = 1 + random.nextInt(4);
            for (int f = 0; f < flips; f++) {
                wal[random.nextInt(wal.length)] ^= (byte) (1 << random.nextInt(8));
            }
            List<DecodedRecord> got = decodeExpectingOnlyWalErrors(WalDecoder.atSegmentStart(new Lsn(16L << 20)), wal,
                    1 + random.nextInt(20_000));
            // Whatever was returned before an error is exactly what the good WAL holds.
            for (int i = 0; i < got.size(); i++) {
                assertThat(got.get(i).startLsn()).isEqualTo(expected.get(i).startLsn());
                assertThat(got.get(i).mainData()).isEqualTo(expected.get(i).mainData());
            }
        }
    }

    // ---------------------------------------------------------------- check-only mode (safekeepers)

    private static List<WalDecoder.CheckedRecord> checkInChunks(WalDecoder d, byte[] wal, int chunk) {
        return checkInChunks(d, wal, chunk, new ArrayList<>());
    }

    /** As {@link #checkInChunks(WalDecoder, byte[], int)}, into {@code out}: what came before a failure stays there. */
    private static List<WalDecoder.CheckedRecord> checkInChunks(WalDecoder d, byte[] wal, int chunk,
                                                                List<WalDecoder.CheckedRecord> out) {
        for (int off = 0; off < wal.length; off += chunk) {
            d.feed(wal, off, Math.min(chunk, wal.length - off));
            for (WalDecoder.CheckedRecord r = d.pollChecked(); r != null; r = d.pollChecked()) {
                out.add(r);
            }
        }
        d.finish();
        return out;
    }

    @Test
    void checkOnlyYieldsTheBoundariesDecodingYieldsWhateverTheChunking() {
        List<Lsn> lsns = new ArrayList<>();
        WalBuilder w = manyRecords(lsns);
        w.switchSegment();
        w.mainData(HEAP, 0, 5000, new byte[100]);
        byte[] wal = w.bytes();
        List<DecodedRecord> decoded = decodeInChunks(WalDecoder.atSegmentStart(new Lsn(w.start)), wal, wal.length);
        for (int chunk : new int[] {1, 7, 8192, 100_003, wal.length}) {
            List<WalDecoder.CheckedRecord> checked = checkInChunks(WalDecoder.atSegmentStart(new Lsn(w.start)).checkOnly(),
                    wal, chunk);
            assertThat(checked).as("chunk " + chunk).hasSameSizeAs(decoded);
            for (int i = 0; i < decoded.size(); i++) {
                DecodedRecord d = decoded.get(i);
                assertThat(checked.get(i)).as("chunk %d, record %d", chunk, i)
                        .isEqualTo(new WalDecoder.CheckedRecord(d.startLsn(), d.endLsn(), d.isSwitch()));
            }
            assertThat(checked).as("the switch record is flagged").filteredOn(WalDecoder.CheckedRecord::isSwitch).hasSize(1);
        }
    }

    @Test
    void checkOnlyFindsABadCrcInARecordOnOnePageAndInOneAcrossPages() {
        List<Lsn> lsns = new ArrayList<>();
        WalBuilder w = manyRecords(lsns);
        byte[] good = w.bytes();
        long base = 16L * 1024 * 1024;
        // Record 10 is small enough for the one-page path in some chunkings; record 59 spans pages.
        for (int victimIndex : new int[] {10, 59}) {
            Lsn victim = lsns.get(victimIndex);
            for (int where : new int[] {RecordHeader.SIZE + 3, 18, RecordHeader.CRC_OFFSET}) { // body, header padding, xl_crc
                byte[] wal = good.clone();
                wal[(int) victim.minus(new Lsn(base)) + where] ^= 0x40;
                for (int chunk : new int[] {7, 10_000, wal.length}) {
                    WalDecoder d = WalDecoder.atSegmentStart(new Lsn(base)).checkOnly();
                    assertThatThrownBy(() -> checkInChunks(d, wal, chunk)).as("record %d, byte %d, chunk %d", victimIndex,
                                    where, chunk)
                            .isInstanceOf(WalDecodeException.class).hasMessageContaining("checksum")
                            .extracting(e -> ((WalDecodeException) e).lsn()).isEqualTo(victim);
                    assertThatThrownBy(d::pollChecked).as("stays failed").isInstanceOf(WalDecodeException.class);
                }
            }
        }
    }

    @Test
    void checkOnlyStillChecksHeadersAndIsChosenBeforeTheFirstByte() {
        WalBuilder w = WalBuilder.small();
        w.mainData(HEAP, 0, 1, new byte[10]);
        byte[] huge = new byte[64];
        LittleEndian.putI32(huge, 0, (int) (WalDecoder.MAX_RECORD_LENGTH + 1));
        Lsn bad = w.raw(huge);
        WalDecoder d = WalDecoder.atSegmentStart(new Lsn(w.start)).checkOnly();
        assertThatThrownBy(() -> checkInChunks(d, w.bytes(), 5000)).isInstanceOf(WalDecodeException.class)
                .hasMessageContaining("invalid record length").extracting(e -> ((WalDecodeException) e).lsn()).isEqualTo(bad);

        WalDecoder fed = WalDecoder.atSegmentStart(new Lsn(w.start));
        fed.feed(new byte[16]);
        assertThatThrownBy(fed::checkOnly).isInstanceOf(IllegalStateException.class);
        WalDecoder checking = WalDecoder.atSegmentStart(new Lsn(w.start)).checkOnly();
        assertThatThrownBy(checking::poll).as("a check-only decoder has no decoded records to give")
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void bitFlipsStopCheckOnlyAtTheRecordWhereDecodingStops() {
        List<Lsn> lsns = new ArrayList<>();
        byte[] good = manyRecords(lsns).bytes();
        long base = 16L << 20;
        Random random = new Random(13);
        for (int round = 0; round < 200; round++) {
            byte[] wal = Arrays.copyOf(good, good.length + 8192);
            int flips = 1 + random.nextInt(4);
            for (int f = 0; f < flips; f++) {
                wal[random.nextInt(wal.length)] ^= (byte) (1 << random.nextInt(8));
            }
            int chunk = 1 + random.nextInt(20_000);
            List<Lsn> decoded = decodeExpectingOnlyWalErrors(WalDecoder.atSegmentStart(new Lsn(base)), wal, chunk).stream()
                    .map(DecodedRecord::startLsn).toList();
            List<WalDecoder.CheckedRecord> checked = new ArrayList<>();
            try {
                checkInChunks(WalDecoder.atSegmentStart(new Lsn(base)).checkOnly(), wal, chunk, checked);
            } catch (WalDecodeException expected) {
                assertThat(expected.lsn().value()).isGreaterThanOrEqualTo(base);
            }
            assertThat(checked).extracting(WalDecoder.CheckedRecord::start).as("round %d", round).isEqualTo(decoded);
        }
    }

    private static List<DecodedRecord> decodeExpectingOnlyWalErrors(WalDecoder d, byte[] wal, int chunk) {
        List<DecodedRecord> out = new ArrayList<>();
        try {
            for (int off = 0; off < wal.length; off += chunk) {
                d.feed(wal, off, Math.min(chunk, wal.length - off));
                for (DecodedRecord r = d.poll(); r != null; r = d.poll()) {
                    out.add(r);
                }
            }
            d.finish();
        } catch (WalDecodeException expected) {
            assertThat(expected.lsn().value()).isGreaterThanOrEqualTo(16L << 20);
        }
        return out;
    }
}
