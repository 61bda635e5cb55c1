package dev.strata.safekeeper.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.lsn.Lsn;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SegmentedWalStoreTest {

    /** Small segments (1 MB, PostgreSQL's minimum) keep the files small and boundaries frequent. */
    private static final int SEG = 1 << 20;
    private static final Lsn START = Lsn.ofSegment(3, SEG);

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void appendsAcrossSegmentsReadBackAndNameFilesLikePgWal(@TempDir Path dir) {
        byte[] data = bytes(SEG * 2 + 12345, 1);
        try (SegmentedWalStore wal = new SegmentedWalStore(dir, SEG, START, START)) {
            int off = 0;
            Random chunks = new Random(2);
            while (off < data.length) {
                int n = Math.min(data.length - off, 1 + chunks.nextInt(100_000));
                wal.append(START.plus(off), data, off, n);
                off += n;
            }
            assertThat(wal.flushLsn()).as("nothing is durable before flush").isEqualTo(START);
            assertThat(wal.flush()).isEqualTo(START.plus(data.length));
            byte[] back = new byte[data.length];
            int pos = 0;
            while (pos < data.length) {
                byte[] chunk = wal.read(START.plus(pos), 300_000);
                System.arraycopy(chunk, 0, back, pos, chunk.length);
                pos += chunk.length;
            }
            assertThat(back).isEqualTo(data);
        }
        assertThat(dir.resolve("000000010000000000000003")).exists().hasSize(SEG);
        assertThat(dir.resolve("000000010000000000000004")).exists();
        assertThat(dir.resolve("000000010000000000000005.partial")).exists().hasSize(SEG);
    }

    @Test
    void withPreallocationNewSegmentsComeFromAZeroedSpareAndTheSpareNeverOutlivesTheStore(@TempDir Path dir) throws Exception {
        Files.write(dir.resolve(SegmentedWalStore.SPARE_NAME), new byte[] {1, 2, 3}); // a crash's half-made spare
        byte[] data = bytes(SEG * 3 + 4321, 3);
        Path spare = dir.resolve(SegmentedWalStore.SPARE_NAME);
        try (SegmentedWalStore wal = new SegmentedWalStore(dir, SEG, START, START, dev.strata.pgcore.fs.Fsync.SYSTEM, true)) {
            assertThat(spare).as("a stale spare is never used").doesNotExist();
            int off = 0;
            Random chunks = new Random(4);
            while (off < data.length) {
                int n = Math.min(data.length - off, 1 + chunks.nextInt(300_000));
                wal.append(START.plus(off), data, off, n);
                off += n;
            }
            assertThat(wal.flush()).isEqualTo(START.plus(data.length));
            byte[] back = new byte[data.length];
            int pos = 0;
            while (pos < data.length) {
                byte[] chunk = wal.read(START.plus(pos), 300_000);
                System.arraycopy(chunk, 0, back, pos, chunk.length);
                pos += chunk.length;
            }
            assertThat(back).isEqualTo(data);
            // The open segment, made from a spare, is full size and zero after the data.
            Path open = dir.resolve("000000010000000000000006.partial");
            assertThat(open).hasSize(SEG);
            byte[] tail = Files.readAllBytes(open);
            int used = data.length - 3 * SEG;
            assertThat(Arrays.equals(tail, 0, used, data, 3 * SEG, data.length)).isTrue();
            for (int i = used; i < SEG; i++) {
                assertThat(tail[i]).as("byte %d of the open segment", i).isZero();
            }
        }
        assertThat(spare).as("removed when the store closes").doesNotExist();
        // A restart finds the WAL where it was; the spare is not a segment.
        try (SegmentedWalStore reopened = new SegmentedWalStore(dir, SEG, START, START.plus(data.length),
                dev.strata.pgcore.fs.Fsync.SYSTEM, true)) {
            assertThat(reopened.read(START, 100)).isEqualTo(Arrays.copyOf(data, 100));
        }
    }

    @Test
    void appendsMustBeContiguous(@TempDir Path dir) {
        try (SegmentedWalStore wal = new SegmentedWalStore(dir, SEG, START, START)) {
            wal.append(START, new byte[100], 0, 100);
            assertThatThrownBy(() -> wal.append(START.plus(200), new byte[1], 0, 1))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("contiguously");
            assertThatThrownBy(() -> wal.read(START.plus(1), 10)).as("nothing durable yet beyond the start")
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void truncateZeroesTheTailAndDropsLaterSegments(@TempDir Path dir) throws Exception {
        byte[] data = bytes(SEG + 5000, 3);
        try (SegmentedWalStore wal = new SegmentedWalStore(dir, SEG, START, START)) {
            wal.append(START, data, 0, data.length);
            wal.flush();
            Lsn cut = START.plus(1000);
            wal.truncate(cut);
            assertThat(wal.flushLsn()).isEqualTo(cut);
            assertThat(wal.writeLsn()).isEqualTo(cut);
            assertThat(dir.resolve("000000010000000000000004.partial")).doesNotExist();
            byte[] seg = Files.readAllBytes(dir.resolve("000000010000000000000003.partial"));
            assertThat(Arrays.copyOf(seg, 1000)).isEqualTo(Arrays.copyOf(data, 1000));
            for (int i = 1000; i < SEG; i += 997) {
                assertThat(seg[i]).as("offset %d zeroed", i).isZero();
            }
            wal.append(cut, new byte[] {9, 9}, 0, 2);
            wal.flush();
            assertThat(wal.read(cut, 10)).containsExactly(9, 9);
        }
    }

    @Test
    void truncateAtASegmentBoundaryKeepsTheCompleteSegment(@TempDir Path dir) {
        byte[] data = bytes(SEG + 10, 4);
        try (SegmentedWalStore wal = new SegmentedWalStore(dir, SEG, START, START)) {
            wal.append(START, data, 0, data.length);
            wal.flush();
            wal.truncate(START.plus(SEG));
        }
        assertThat(dir.resolve("000000010000000000000003")).exists();
        assertThat(dir.resolve("000000010000000000000004.partial")).doesNotExist();
        try (SegmentedWalStore reopened = new SegmentedWalStore(dir, SEG, START, START.plus(SEG))) {
            assertThat(reopened.read(START.plus(SEG - 4), 100)).containsExactly(Arrays.copyOfRange(data, SEG - 4, SEG));
            reopened.append(START.plus(SEG), data, 0, 10);
            reopened.flush();
            assertThat(reopened.read(START.plus(SEG), 10)).containsExactly(Arrays.copyOf(data, 10));
        }
    }

    @Test
    void reopeningAtAValidEndDiscardsWhatLiesBeyond(@TempDir Path dir) {
        byte[] data = bytes(4000, 5);
        try (SegmentedWalStore wal = new SegmentedWalStore(dir, SEG, START, START)) {
            wal.append(START, data, 0, data.length);
            wal.flush();
        }
        // As if a scan found the last complete record ending at +3000.
        try (SegmentedWalStore wal = new SegmentedWalStore(dir, SEG, START, START.plus(3000))) {
            assertThat(wal.flushLsn()).isEqualTo(START.plus(3000));
            assertThat(wal.read(START, 5000)).containsExactly(Arrays.copyOf(data, 3000));
        }
    }

    @Test
    void removesOnlyWholeSegmentsBelowTheHorizonAndReadersAreToldWhy(@TempDir Path dir) {
        byte[] data = bytes(SEG * 3 + 777, 5);
        Lsn end = START.plus(data.length);
        try (SegmentedWalStore wal = new SegmentedWalStore(dir, SEG, START, START)) {
            wal.append(START, data, 0, data.length);
            wal.flush();
            assertThat(wal.retainedStart()).isEqualTo(START);
            // The horizon inside segment 4: only segment 3 lies wholly below it.
            assertThat(wal.removeBelow(START.plus(SEG + 10))).isEqualTo(1);
            assertThat(dir.resolve("000000010000000000000003")).doesNotExist();
            assertThat(dir.resolve("000000010000000000000004")).exists();
            assertThat(wal.retainedStart()).isEqualTo(START.plus(SEG));
            assertThatThrownBy(() -> wal.read(START.plus(100), 10)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("was removed");
            assertThat(wal.read(START.plus(SEG), 10)).isEqualTo(Arrays.copyOfRange(data, SEG, SEG + 10));
            // A horizon beyond the flush LSN never reaches the segment being written.
            assertThat(wal.removeBelow(Lsn.parse("FF/0"))).isEqualTo(2);
            assertThat(dir.resolve("000000010000000000000006.partial")).exists();
            assertThat(wal.retainedStart()).isEqualTo(START.plus(3L * SEG));
            assertThat(wal.read(START.plus(3L * SEG), 777)).isEqualTo(Arrays.copyOfRange(data, 3 * SEG, data.length));
            assertThat(wal.removeBelow(end)).as("nothing more to remove").isZero();
        }
        // A restart finds where the WAL on disk begins.
        try (SegmentedWalStore wal = new SegmentedWalStore(dir, SEG, START, end)) {
            assertThat(wal.retainedStart()).isEqualTo(START.plus(3L * SEG));
            assertThat(wal.flushLsn()).isEqualTo(end);
        }
    }
}
