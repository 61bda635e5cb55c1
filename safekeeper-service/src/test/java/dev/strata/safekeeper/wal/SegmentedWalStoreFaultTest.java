package dev.strata.safekeeper.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.testing.FailingFsync;
import dev.strata.pgcore.testing.SmallFilesystem;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The WAL store on a full disk (a real, small tmpfs) and after a failed fsync (injected). */
class SegmentedWalStoreFaultTest {

    private static final int SEG = 1 << 20;
    private static final Lsn START = Lsn.ofSegment(3, SEG);

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] readAll(SegmentedWalStore wal, Lsn from, Lsn to) {
        byte[] out = new byte[(int) to.minus(from)];
        int pos = 0;
        while (pos < out.length) {
            byte[] chunk = wal.read(from.plus(pos), out.length - pos);
            System.arraycopy(chunk, 0, out, pos, chunk.length);
            pos += chunk.length;
        }
        return out;
    }

    @Test
    void diskFullWhileZeroFillingANewSegmentFailsCleanlyAndResumesOnceSpaceIsFreed(@TempDir Path tmp) {
        byte[] data = bytes(3 * SEG, 7);
        try (SmallFilesystem fs = SmallFilesystem.mount(tmp, 4);
             SegmentedWalStore wal = new SegmentedWalStore(fs.root().resolve("wal"), SEG, START, START)) {
            int first = SEG - 1000; // most of segment 3
            wal.append(START, data, 0, first);
            assertThat(wal.flush()).isEqualTo(START.plus(first));

            fs.fill();
            // Crosses into segment 4, which cannot be zero-filled on a full disk.
            assertThatThrownBy(() -> wal.append(START.plus(first), data, first, 5000))
                    .isInstanceOf(UncheckedIOException.class)
                    .hasMessageContaining("could not write WAL")
                    .hasRootCauseMessage("No space left on device");
            // Only what was really written (the rest of segment 3) can become durable.
            Lsn written = wal.writeLsn();
            assertThat(written).isEqualTo(Lsn.ofSegment(4, SEG));
            assertThat(wal.flush()).isEqualTo(written);
            assertThat(readAll(wal, START, written)).isEqualTo(Arrays.copyOf(data, SEG));
            // Still full: the same append fails again the same clear way, nothing moves.
            assertThatThrownBy(() -> wal.append(written, data, SEG, 5000))
                    .hasRootCauseMessage("No space left on device");
            assertThat(wal.flushLsn()).isEqualTo(written);

            fs.free();
            // No restart: the next append recreates segment 4 and goes on.
            wal.append(written, data, SEG, 2 * SEG);
            assertThat(wal.flush()).isEqualTo(START.plus(3 * SEG));
            assertThat(readAll(wal, START, wal.flushLsn())).isEqualTo(data);
        }
    }

    @Test
    void aFailedFsyncStopsTheStoreForGoodAndNeverMovesTheFlushLsn(@TempDir Path dir) {
        FailingFsync fsync = new FailingFsync();
        byte[] data = bytes(2 * SEG, 8);
        try (SegmentedWalStore wal = new SegmentedWalStore(dir, SEG, START, START, fsync)) {
            wal.append(START, data, 0, 1000);
            assertThat(wal.flush()).isEqualTo(START.plus(1000));

            wal.append(START.plus(1000), data, 1000, 1000);
            fsync.failAll();
            assertThatThrownBy(wal::flush).isInstanceOf(WalStoreFailedException.class)
                    .hasMessageContaining("fsync of").hasMessageContaining("flush LSN stays " + START.plus(1000));
            assertThat(wal.flushLsn()).isEqualTo(START.plus(1000));

            // The disk "recovers": a retried fsync would succeed, but the pages it should cover
            // may be gone. The store must not force again and report the bytes durable.
            fsync.heal();
            int forcesBefore = fsync.forces();
            assertThatThrownBy(wal::flush).isInstanceOf(WalStoreFailedException.class)
                    .hasMessageContaining("restart the safekeeper");
            assertThatThrownBy(() -> wal.append(START.plus(2000), data, 2000, 10))
                    .isInstanceOf(WalStoreFailedException.class);
            assertThatThrownBy(() -> wal.truncate(START.plus(1000))).isInstanceOf(WalStoreFailedException.class);
            assertThat(fsync.forces()).as("no force after the failure").isEqualTo(forcesBefore);
            assertThat(wal.flushLsn()).isEqualTo(START.plus(1000));
            assertThat(wal.failure()).isNotNull();
            // What was durable is still served.
            assertThat(readAll(wal, START, wal.flushLsn())).isEqualTo(Arrays.copyOf(data, 1000));
        }
    }

    @Test
    void aFailedFsyncOfACompletedSegmentStopsTheStoreToo(@TempDir Path dir) {
        FailingFsync fsync = new FailingFsync();
        byte[] data = bytes(2 * SEG, 9);
        try (SegmentedWalStore wal = new SegmentedWalStore(dir, SEG, START, START, fsync)) {
            wal.append(START, data, 0, SEG + 10); // segment 3 completed and renamed, unforced
            fsync.failFiles(p -> p.getFileName().toString().equals(wal.fileName(3)));
            assertThatThrownBy(wal::flush).isInstanceOf(WalStoreFailedException.class)
                    .hasMessageContaining(wal.fileName(3));
            assertThat(wal.flushLsn()).isEqualTo(START);
        }
    }
}
