package dev.strata.safekeeper.timeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.term.Term;
import dev.strata.pgcore.term.TermHistory;
import dev.strata.pgcore.term.TermLsn;
import dev.strata.pgcore.testing.FailingFsync;
import dev.strata.pgcore.testing.SmallFilesystem;
import dev.strata.safekeeper.election.ElectedRequest;
import dev.strata.safekeeper.election.VoteRequest;
import dev.strata.safekeeper.testing.RealWal;
import dev.strata.safekeeper.wal.WalStoreFailedException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A timeline (control file, real WAL store, acceptor) under storage faults, fed real PG17 WAL
 * through the acceptor as the compute streamer feeds it: a full disk (a real small tmpfs), a
 * failed fsync (injected: a real EIO cannot be produced), and WAL lost below the flush LSN the
 * control file recorded.
 */
class TimelineFaultTest {

    private static final TimelineId TL = TimelineId.parse("0b0b0000000000000000000000000001");
    private static final int SEG = RealWal.SEGMENT_SIZE;
    private static RealWal wal;

    @BeforeAll
    static void realWal() throws Exception {
        wal = RealWal.generate(2000);
    }

    /** A timeline that has adopted term 1 with its epoch starting at the WAL start. */
    private static Timeline elected(Timeline t) {
        t.vote(new VoteRequest(TL, Term.of(1)));
        t.acceptor().elected(new ElectedRequest(TL, Term.of(1), TermHistory.EMPTY.append(TermLsn.of(1, wal.start())),
                wal.start(), NodeId.of("sk-1"), "http://127.0.0.1:1"));
        return t;
    }

    /** Appends the real WAL from {@code from} to the record end {@code to}, as the streamer does. */
    private static void append(Timeline t, Lsn from, Lsn to) {
        int off = (int) from.minus(wal.start());
        t.acceptor().append(Term.of(1), from, wal.bytes(), off, (int) to.minus(from));
    }

    @Test
    void aFullDiskRefusesWalWithoutAcknowledgingAndResumesWithoutRestartOnceFreed(@TempDir Path tmp) {
        List<Lsn> ends = wal.recordEnds();
        Lsn first = ends.get(ends.size() / 3);
        try (SmallFilesystem fs = SmallFilesystem.mount(tmp, SEG / (1 << 20) + 4);
             Timeline t = elected(Timeline.create(fs.root().resolve("tl"), TL, wal.systemId(), SEG, wal.start()))) {
            fs.fill(); // before the first append: its segment cannot be zero-filled
            assertThatThrownBy(() -> append(t, wal.start(), first))
                    .isInstanceOf(UncheckedIOException.class).hasRootCauseMessage("No space left on device");
            assertThat(t.acceptor().flush()).as("nothing acknowledgeable").isEqualTo(wal.start());
            assertThat(t.status().flushLsn()).isEqualTo(wal.start());

            fs.free();
            append(t, wal.start(), first);
            assertThat(t.acceptor().flush()).isEqualTo(first);
            append(t, first, wal.end());
            assertThat(t.acceptor().flush()).isEqualTo(wal.end());
            assertThat(t.wal().read(wal.start(), wal.bytes().length)).isEqualTo(wal.bytes());
        }
    }

    @Test
    void aFailedFsyncStopsTheTimelineAndARestartTrustsTheWalItReadsBack(@TempDir Path dir) {
        List<Lsn> ends = wal.recordEnds();
        Lsn good = ends.get(ends.size() / 3);
        Lsn more = ends.get(2 * ends.size() / 3);
        FailingFsync fsync = new FailingFsync();
        try (Timeline t = elected(Timeline.create(dir, TL, wal.systemId(), SEG, wal.start(), fsync))) {
            append(t, wal.start(), good);
            assertThat(t.acceptor().flush()).isEqualTo(good);
            t.acceptor().persist();

            append(t, good, more);
            fsync.failFiles(p -> p.getFileName().toString().startsWith("0000"));
            assertThatThrownBy(() -> t.acceptor().flush()).isInstanceOf(WalStoreFailedException.class);
            fsync.heal();
            assertThatThrownBy(() -> t.acceptor().flush()).as("no retry that then acknowledges")
                    .isInstanceOf(WalStoreFailedException.class);
            assertThatThrownBy(() -> append(t, more, wal.end())).isInstanceOf(WalStoreFailedException.class);
            assertThat(t.status().flushLsn()).isEqualTo(good);
        }
        // The restart reads the WAL back: here the page cache still held the bytes, so they count,
        // and only because they decode as complete, CRC-valid records.
        try (Timeline t = Timeline.open(dir)) {
            assertThat(t.status().flushLsn()).isEqualTo(more);
            assertThat(t.wal().read(wal.start(), (int) more.minus(wal.start())))
                    .isEqualTo(Arrays.copyOf(wal.bytes(), (int) more.minus(wal.start())));
        }
    }

    @Test
    void aRestartTrustsOnlyTheWalOnDiskNotTheFlushLsnTheControlFileRecorded(@TempDir Path dir) throws Exception {
        List<Lsn> ends = wal.recordEnds();
        Lsn survived = ends.get(ends.size() / 2);
        try (Timeline t = elected(Timeline.create(dir, TL, wal.systemId(), SEG, wal.start()))) {
            append(t, wal.start(), wal.end());
            assertThat(t.acceptor().flush()).isEqualTo(wal.end());
            t.acceptor().persist();
        }
        // What a lying or failed fsync leaves after a power loss: the control file says the WAL
        // reaches wal.end(), the segment holds zeros from `survived` on.
        Path segment = dir.resolve("wal").resolve(wal.start().walFileName(1, SEG) + ".partial");
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            ByteBuffer zeros = ByteBuffer.allocate((int) wal.end().minus(survived));
            long pos = survived.segmentOffset(SEG);
            while (zeros.hasRemaining()) {
                pos += ch.write(zeros, pos);
            }
        }
        try (Timeline t = Timeline.open(dir)) {
            // Before: the scan never went below the recorded flush LSN, and the safekeeper voted
            // and served as if it held WAL it did not have.
            assertThat(t.status().flushLsn()).isEqualTo(survived);
            assertThat(t.wal().writeLsn()).isEqualTo(survived);
        }
    }
}
