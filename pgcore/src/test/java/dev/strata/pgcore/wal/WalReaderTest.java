package dev.strata.pgcore.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.lsn.Lsn;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WalReaderTest {

    private final List<Lsn> lsns = new ArrayList<>();

    /** Writes about 2.5 segments of records as pg_wal would hold them; returns the builder. */
    private WalBuilder writeSegments(Path dir, boolean zeroFillLastSegment) throws Exception {
        WalBuilder w = WalBuilder.small();
        Random random = new Random(9);
        while (w.position().value() < w.start + 2L * w.segmentSize + w.segmentSize / 2) {
            byte[] data = new byte[random.nextInt(9000)];
            random.nextBytes(data);
            lsns.add(w.mainData(RmgrId.HEAP.id(), 0, 5, data));
        }
        byte[] wal = w.bytes();
        int segments = (wal.length + w.segmentSize - 1) / w.segmentSize;
        for (int s = 0; s < segments; s++) {
            byte[] seg = Arrays.copyOfRange(wal, s * w.segmentSize,
                    zeroFillLastSegment ? (s + 1) * w.segmentSize : Math.min(wal.length, (s + 1) * w.segmentSize));
            Lsn segStart = new Lsn(w.start + (long) s * w.segmentSize);
            Files.write(dir.resolve(segStart.walFileName(1, w.segmentSize)), seg);
        }
        return w;
    }

    private static List<Lsn> readAll(WalReader reader) {
        List<Lsn> out = new ArrayList<>();
        for (DecodedRecord r = reader.next(); r != null; r = reader.next()) {
            out.add(r.startLsn());
        }
        return out;
    }

    @Test
    void readsAcrossSegmentFilesToTheEndOfWal(@TempDir Path dir) throws Exception {
        WalBuilder w = writeSegments(dir, true);
        try (WalReader reader = new WalReader(dir, 1, new Lsn(w.start), null)) {
            assertThat(reader.segmentSize()).isEqualTo(w.segmentSize);
            assertThat(readAll(reader)).isEqualTo(lsns);
        }
    }

    @Test
    void startsAtARecordOrAtALaterSegmentAndStopsAtAnLsn(@TempDir Path dir) throws Exception {
        WalBuilder w = writeSegments(dir, true);
        Lsn from = lsns.get(lsns.size() / 3);
        try (WalReader reader = new WalReader(dir, 1, from, null)) {
            assertThat(readAll(reader)).isEqualTo(lsns.subList(lsns.size() / 3, lsns.size()));
        }
        // From the second segment's start: the record continued into it is skipped.
        Lsn second = new Lsn(w.start + w.segmentSize);
        List<Lsn> expected = lsns.stream().filter(l -> !l.isBefore(second)).toList();
        try (WalReader reader = new WalReader(dir, 1, second, null)) {
            assertThat(readAll(reader)).isEqualTo(expected);
        }
        Lsn stop = lsns.get(100);
        try (WalReader reader = new WalReader(dir, 1, new Lsn(w.start), stop)) {
            assertThat(readAll(reader)).isEqualTo(lsns.subList(0, 100)); // record 100 ends after stop
        }
    }

    @Test
    void aSegmentFileCutShortIsAnErrorNamingWhereItEnds(@TempDir Path dir) throws Exception {
        WalBuilder w = writeSegments(dir, true);
        Path first = dir.resolve(new Lsn(w.start).walFileName(1, w.segmentSize));
        byte[] bytes = Files.readAllBytes(first);
        Files.write(first, Arrays.copyOf(bytes, 500_001));
        try (WalReader reader = new WalReader(dir, 1, new Lsn(w.start), null)) {
            assertThatThrownBy(() -> readAll(reader)).isInstanceOf(WalDecodeException.class)
                    .hasMessageContaining("ends early").hasMessageContaining(new Lsn(w.start + 500_001).toString());
        }
    }

    @Test
    void aMissingNextSegmentInsideARecordIsTruncatedWal(@TempDir Path dir) throws Exception {
        WalBuilder w = writeSegments(dir, true);
        Files.delete(dir.resolve(new Lsn(w.start + 2L * w.segmentSize).walFileName(1, w.segmentSize)));
        Lsn boundary = new Lsn(w.start + 2L * w.segmentSize);
        Lsn spanning = lsns.stream().filter(l -> l.isBefore(boundary)).reduce((a, b) -> b).orElseThrow();
        try (WalReader reader = new WalReader(dir, 1, new Lsn(w.start), null)) {
            assertThatThrownBy(() -> readAll(reader)).isInstanceOf(WalDecodeException.class)
                    .hasMessageContaining("truncated")
                    .extracting(e -> ((WalDecodeException) e).lsn()).isEqualTo(spanning);
        }
    }

    /**
     * PostgreSQL creates segment files ahead of the insert position, zero-filled: one of them
     * must not be taken for the directory's format (a crash mid-record left one behind).
     */
    @Test
    void segmentFilesNotWrittenYetArePassedOver(@TempDir Path dir) throws Exception {
        WalBuilder w = writeSegments(dir, true);
        Files.write(dir.resolve(new Lsn(w.start - w.segmentSize).walFileName(1, w.segmentSize)),
                new byte[w.segmentSize]); // sorts before every written segment
        Files.write(dir.resolve(new Lsn(w.start + 3L * w.segmentSize).walFileName(1, w.segmentSize)),
                new byte[w.segmentSize]);
        try (WalReader reader = new WalReader(dir, 1, new Lsn(w.start), null)) {
            assertThat(reader.segmentSize()).isEqualTo(w.segmentSize);
            assertThat(readAll(reader)).isEqualTo(lsns);
            assertThat(reader.reachedEndOfWal()).isTrue();
        }
    }

    @Test
    void aDirectoryWithoutAnyWrittenSegmentIsAClearError(@TempDir Path dir) throws Exception {
        Path zeros = dir.resolve("000000010000000000000001");
        Files.write(zeros, new byte[8192]);
        assertThatThrownBy(() -> new WalReader(dir, 1, new Lsn(16L << 20), null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no WAL segment file in").hasMessageContaining(zeros.toString());
    }
}
