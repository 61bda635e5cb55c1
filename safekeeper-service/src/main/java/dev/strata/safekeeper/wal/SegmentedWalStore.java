package dev.strata.safekeeper.wal;

import dev.strata.pgcore.fs.CrashSafe;
import dev.strata.pgcore.fs.Fsync;
import dev.strata.pgcore.fs.FsyncFailedException;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.safekeeper.election.Acceptor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One timeline's WAL on a safekeeper's disk, in files laid out like {@code pg_wal}: full-size
 * segment files named by timeline 1 and segment number, the one being written with a
 * {@code .partial} suffix. Bytes are exactly the compute's WAL stream, page headers included,
 * so {@code pg_waldump} reads the files and a walsender serves them unchanged.
 *
 * <p>Single writer. {@link #append} writes without forcing; {@link #flush} forces and only
 * then moves the flush LSN (the group-commit point: the caller decides how many appends one
 * force covers). {@link #truncate} cuts a divergent tail and zeroes it on disk, so that a
 * later scan for the valid prefix cannot mistake old bytes for new WAL.
 *
 * <p>Failures: a write that fails (the disk is full) throws and moves nothing; the write LSN
 * stays at the last byte fully written, and the next append retries from there, so the store
 * resumes by itself once space is freed. A force that fails is fatal (decision 0010): the store
 * stops for good ({@link WalStoreFailedException} from every later append, flush or truncate),
 * the flush LSN never moves past the last successful force, and only a restart, which scans the
 * WAL it reads back ({@link WalPrefixScanner}), brings the timeline back. Reads of WAL below the
 * flush LSN go on.
 */
public final class SegmentedWalStore implements Acceptor.WalStorage, AutoCloseable {

    public static final String PARTIAL_SUFFIX = ".partial";
    /**
     * The zero-filled, forced file the next new segment is renamed from (with preallocation).
     * Not a segment name: scans, reads, truncation and retention never see it.
     */
    static final String SPARE_NAME = "spare-segment.tmp";
    private static final int TIMELINE = 1;
    private static final Logger log = LoggerFactory.getLogger(SegmentedWalStore.class);

    private final Path dir;
    private final Fsync fsync;
    private final int segmentSize;
    private final Lsn startLsn;
    /** Where the WAL still on disk begins: the timeline start until segments are removed. */
    private volatile Lsn retainedStart;
    private Lsn writeLsn;
    private volatile Lsn flushLsn;
    private long openSegment = -1;
    private FileChannel channel;
    private Path channelPath;

    /** A completed segment's channel and its (final) file, awaiting the next force. */
    private record Unforced(FileChannel channel, Path file) {
    }
    /** Completed segments written since the last flush: forced by the next flush. */
    private final List<Unforced> unforced = new ArrayList<>();
    /**
     * Whether a spare segment is zero-filled ahead, off the writer's thread ({@link #SPARE_NAME}).
     * On in production ({@code Timeline}); off in the unit tests that need the zero-fill of a
     * new segment to happen inside the append that crosses into it (disk-full tests).
     */
    private final boolean preallocate;
    /** The spare being prepared or ready (its file), or null; only touched under this store's lock. */
    private java.util.concurrent.CompletableFuture<Path> spare;
    /** Set by the first failed force; from then on nothing is written or forced. */
    private volatile FsyncFailedException failure;

    /**
     * Opens the WAL in {@code dir} whose valid prefix ends at {@code end} (established by the
     * caller, e.g. with {@link WalPrefixScanner}); bytes beyond {@code end} are zeroed.
     */
    public SegmentedWalStore(Path dir, int segmentSize, Lsn startLsn, Lsn end) {
        this(dir, segmentSize, startLsn, end, Fsync.SYSTEM);
    }

    /** As {@link #SegmentedWalStore(Path, int, Lsn, Lsn)}, forcing through {@code fsync}. */
    public SegmentedWalStore(Path dir, int segmentSize, Lsn startLsn, Lsn end, Fsync fsync) {
        this(dir, segmentSize, startLsn, end, fsync, false);
    }

    /**
     * As {@link #SegmentedWalStore(Path, int, Lsn, Lsn, Fsync)}; with {@code preallocate} the
     * next segment's file is zero-filled and forced in the background while the current one is
     * written, so crossing into a new segment costs a rename and a directory fsync instead of
     * writing and forcing 16 MiB of zeros on the writer's thread (issue 11 item 9: that was the
     * largest single cost of a safekeeper under a bulk load). Costs one segment of disk.
     */
    public SegmentedWalStore(Path dir, int segmentSize, Lsn startLsn, Lsn end, Fsync fsync, boolean preallocate) {
        this.fsync = fsync;
        this.preallocate = preallocate;
        if (end.isBefore(startLsn)) {
            throw new IllegalArgumentException("WAL end " + end + " is before the timeline start " + startLsn);
        }
        this.dir = dir;
        this.segmentSize = segmentSize;
        this.startLsn = startLsn;
        this.writeLsn = startLsn;
        this.flushLsn = startLsn;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("could not create " + dir, e);
        }
        try {
            // A spare left by a crash may be half filled: never trust it, make a new one.
            Files.deleteIfExists(dir.resolve(SPARE_NAME));
        } catch (IOException e) {
            throw new UncheckedIOException("could not remove " + dir.resolve(SPARE_NAME), e);
        }
        truncate(end);
        this.retainedStart = firstRetained();
    }

    public Lsn startLsn() {
        return startLsn;
    }

    /** The lowest LSN still on disk: the timeline start, or the first segment kept by {@link #removeBelow}. */
    public Lsn retainedStart() {
        return retainedStart;
    }

    /**
     * Removes every complete segment that ends at or below {@code horizon} (which the caller
     * established nobody needs any more: see {@code WalRetention}); the segment being written is
     * never removed. Returns how many were removed. Durable when it returns.
     */
    public synchronized int removeBelow(Lsn horizon) {
        Lsn limit = Lsn.min(horizon, flushLsn);
        long firstKept = limit.segmentNumber(segmentSize);
        int removed = 0;
        try {
            for (Path p : segmentFiles()) {
                String name = p.getFileName().toString();
                if (!name.endsWith(PARTIAL_SUFFIX) && segmentNumberOf(p) < firstKept) {
                    // Readers see the new start first: nothing is served from a file about to go.
                    retainedStart = Lsn.max(retainedStart, Lsn.ofSegment(segmentNumberOf(p) + 1, segmentSize));
                    Files.delete(p);
                    removed++;
                }
            }
            if (removed > 0) {
                CrashSafe.fsyncDirectory(fsync, dir);
                log.info("removed {} WAL segment(s) below {} in {}; WAL now held from {}", removed, limit, dir, retainedStart);
            }
        } catch (FsyncFailedException e) {
            throw fail(e);
        } catch (IOException e) {
            throw new UncheckedIOException("could not remove WAL below " + limit + " in " + dir, e);
        }
        return removed;
    }

    /** After a restart: the timeline start, or the start of the first segment file left. */
    private Lsn firstRetained() {
        try {
            for (Path p : segmentFiles()) {
                return Lsn.max(startLsn, Lsn.ofSegment(segmentNumberOf(p), segmentSize));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not list WAL in " + dir, e);
        }
        return Lsn.max(startLsn, writeLsn.segmentStart(segmentSize));
    }

    /** End of the bytes appended (maybe not yet durable). */
    public synchronized Lsn writeLsn() {
        return writeLsn;
    }

    /** End of the bytes that are durable on disk. */
    public Lsn flushLsn() {
        return flushLsn;
    }

    public int segmentSize() {
        return segmentSize;
    }

    /** Appends {@code len} bytes that belong at {@code at}, which must be the current write LSN. */
    public synchronized void append(Lsn at, byte[] data, int off, int len) {
        checkNotFailed();
        if (!at.equals(writeLsn)) {
            throw new IllegalArgumentException("WAL must be appended contiguously: got bytes at " + at
                    + ", the WAL ends at " + writeLsn);
        }
        try {
            int done = 0;
            while (done < len) {
                Lsn pos = writeLsn;
                FileChannel ch = channelFor(pos.segmentNumber(segmentSize));
                int room = segmentSize - pos.segmentOffset(segmentSize);
                int n = Math.min(room, len - done);
                writeFully(ch, ByteBuffer.wrap(data, off + done, n), pos.segmentOffset(segmentSize));
                done += n;
                writeLsn = pos.plus(n);
            }
        } catch (FsyncFailedException e) {
            throw fail(e);
        } catch (IOException e) {
            throw new UncheckedIOException("could not write WAL at " + writeLsn + " in " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Forces everything appended so far to disk, then advances the flush LSN; returns it. */
    public synchronized Lsn flush() {
        checkNotFailed();
        try {
            while (!unforced.isEmpty()) {
                Unforced u = unforced.getFirst();
                fsync.force(u.channel(), u.file(), false);
                unforced.removeFirst();
                u.channel().close();
            }
            if (channel != null) {
                fsync.force(channel, channelPath, false);
            }
        } catch (FsyncFailedException e) {
            throw fail(e); // the flush LSN stays at the last good force
        } catch (IOException e) {
            throw new UncheckedIOException("could not fsync WAL in " + dir, e);
        }
        flushLsn = writeLsn;
        return flushLsn;
    }

    /** Why the store stopped (a failed force), or null while it works. */
    public FsyncFailedException failure() {
        return failure;
    }

    private void checkNotFailed() {
        FsyncFailedException f = failure;
        if (f != null) {
            throw new WalStoreFailedException("WAL in " + dir + " is stopped since a failed fsync (" + f.getMessage()
                    + "); flush LSN stays " + flushLsn + "; restart the safekeeper to recover from what is on disk", f);
        }
    }

    /** Enters the failed state for good (never cleared: a later force could "succeed" on dropped pages). */
    private WalStoreFailedException fail(FsyncFailedException e) {
        if (failure == null) {
            failure = e;
            log.error("WAL in {} stopped: {}; flush LSN stays {}, nothing more is acknowledged until a restart",
                    dir, e.getMessage(), flushLsn);
        }
        return new WalStoreFailedException("WAL in " + dir + " stopped: " + e.getMessage() + "; flush LSN stays "
                + flushLsn, e);
    }

    /**
     * Cuts the WAL at {@code end}: later segments are deleted, the rest of {@code end}'s segment
     * is zeroed, and write and flush LSN become {@code end}. Durable when it returns.
     */
    public synchronized void truncate(Lsn end) {
        checkNotFailed();
        if (end.isBefore(startLsn)) {
            throw new IllegalArgumentException("cannot truncate WAL to " + end + ", before the timeline start " + startLsn);
        }
        if (retainedStart != null && end.isBefore(retainedStart)) {
            // Only committed WAL is ever removed, and an election never truncates committed WAL.
            throw new IllegalStateException("cannot truncate WAL to " + end + ": WAL below " + retainedStart
                    + " was removed as committed and held by the pageserver");
        }
        try {
            closeChannels();
            long keepSeg = end.segmentNumber(segmentSize);
            int keepOffset = end.segmentOffset(segmentSize);
            // At an exact segment boundary the segment holding `end` has no bytes yet.
            for (Path p : segmentFiles()) {
                long seg = segmentNumberOf(p);
                if (seg > keepSeg || (seg == keepSeg && keepOffset == 0)) {
                    Files.delete(p);
                }
            }
            Path full = dir.resolve(fileName(keepSeg));
            Path partial = dir.resolve(fileName(keepSeg) + PARTIAL_SUFFIX);
            if (Files.exists(full)) {
                Files.move(full, partial);
            }
            if (Files.exists(partial)) {
                try (FileChannel ch = FileChannel.open(partial, StandardOpenOption.WRITE)) {
                    zeroFrom(ch, keepOffset);
                    fsync.force(ch, partial, false);
                }
            }
            // The segment before `end` must be complete under its final name.
            if (keepOffset == 0 && keepSeg > startLsn.segmentNumber(segmentSize)) {
                Path prevPartial = dir.resolve(fileName(keepSeg - 1) + PARTIAL_SUFFIX);
                if (Files.exists(prevPartial)) {
                    Files.move(prevPartial, dir.resolve(fileName(keepSeg - 1)));
                }
            }
            CrashSafe.fsyncDirectory(fsync, dir);
        } catch (FsyncFailedException e) {
            throw fail(e);
        } catch (IOException e) {
            // Segments beyond `end` may already be gone; nothing below `end` was touched. Claim no
            // more than `end`, so no read or acknowledgement relies on a deleted segment.
            writeLsn = Lsn.min(writeLsn, end);
            flushLsn = Lsn.min(flushLsn, end);
            throw new UncheckedIOException("could not truncate WAL in " + dir + " to " + end + ": " + e.getMessage(), e);
        }
        writeLsn = end;
        flushLsn = end;
        log.debug("WAL in {} now ends at {}", dir, end);
    }

    /**
     * Reads up to {@code max} durable bytes starting at {@code from} (which must be within
     * [start, flush]); returns fewer, or none at the flush LSN.
     */
    public byte[] read(Lsn from, int max) {
        Lsn end = flushLsn;
        Lsn begin = retainedStart;
        if (from.isBefore(begin) || from.isAfter(end)) {
            throw new IllegalArgumentException("WAL at " + from + " is not held here: this safekeeper has ["
                    + begin + ", " + end + ")" + (begin.isAfter(startLsn) ? "; WAL below " + begin + " was removed" : ""));
        }
        int n = (int) Math.min(max, end.minus(from));
        n = Math.min(n, segmentSize - from.segmentOffset(segmentSize));
        byte[] out = new byte[n];
        if (n == 0) {
            return out;
        }
        long seg = from.segmentNumber(segmentSize);
        for (String name : new String[] {fileName(seg), fileName(seg) + PARTIAL_SUFFIX, fileName(seg)}) {
            try (FileChannel ch = FileChannel.open(dir.resolve(name), StandardOpenOption.READ)) {
                ByteBuffer buf = ByteBuffer.wrap(out);
                long pos = from.segmentOffset(segmentSize);
                while (buf.hasRemaining()) {
                    int r = ch.read(buf, pos);
                    if (r < 0) {
                        throw new IOException("segment " + name + " ends before " + from.plus(n));
                    }
                    pos += r;
                }
                return out;
            } catch (NoSuchFileException e) {
                // renamed from .partial to its final name between our looks: try the other name
            } catch (IOException e) {
                throw new UncheckedIOException("could not read WAL at " + from + " in " + dir, e);
            }
        }
        throw new IllegalStateException("WAL segment " + fileName(seg) + " is missing in " + dir);
    }

    /** The file name of segment {@code segNo}, without suffix. */
    public String fileName(long segNo) {
        return Lsn.ofSegment(segNo, segmentSize).walFileName(TIMELINE, segmentSize);
    }

    public Path directory() {
        return dir;
    }

    @Override
    public synchronized void close() {
        java.util.concurrent.CompletableFuture<Path> f = spare;
        spare = null;
        if (f != null) {
            try {
                f.get(60, java.util.concurrent.TimeUnit.SECONDS); // never leave a thread writing into a closed store's directory
                Files.deleteIfExists(dir.resolve(SPARE_NAME));
            } catch (Exception e) {
                log.debug("spare WAL segment in {}: {}", dir, e.toString());
            }
        }
        try {
            closeChannels();
        } catch (IOException e) {
            log.warn("closing WAL files in {} failed: {}", dir, e.toString());
        }
    }

    /**
     * The channel of segment {@code segNo}, opening (and if new, zero-filling) it. Either it
     * succeeds or the store is left as if it had not been called beyond completing the previous
     * segment: a failure (the disk is full while zero-filling) closes and removes the new file,
     * so the next append, once space is free, starts the segment again.
     */
    private FileChannel channelFor(long segNo) throws IOException {
        if (segNo == openSegment) {
            return channel;
        }
        if (channel != null) {
            // The open segment is complete: give it its final name; it is forced with the next flush.
            Path complete = dir.resolve(fileName(openSegment));
            Files.move(channelPath, complete);
            unforced.add(new Unforced(channel, complete));
            channel = null;
            channelPath = null;
            openSegment = -1;
        }
        Path path = dir.resolve(fileName(segNo) + PARTIAL_SUFFIX);
        boolean created = !Files.exists(path);
        if (created) {
            takeSpare(path); // if one is ready: a full-size zeroed file, already forced
        }
        FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            if (ch.size() < segmentSize) {
                // Full-size files filled with real zeros, as PostgreSQL's XLogFileInit makes them:
                // later forces then flush data only. A sparse file would make every force also
                // commit block allocation to the file system journal (measured: 2-65 ms per
                // fdatasync under pgbench, against well under 1 ms in a pre-filled file).
                zeroFrom(ch, (int) ch.size());
                fsync.force(ch, path, true);
            }
            if (created) {
                CrashSafe.fsyncDirectory(fsync, dir);
            }
        } catch (IOException | RuntimeException e) {
            ch.close();
            if (created && !(e instanceof FsyncFailedException)) {
                // Give the space back: the file holds zeros only, and a short file is redone anyway.
                Files.deleteIfExists(path);
            }
            log.warn("could not prepare WAL segment {} in {}: {}", path.getFileName(), dir, e.toString());
            throw e;
        }
        channel = ch;
        channelPath = path;
        openSegment = segNo;
        startSpare();
        return ch;
    }

    /**
     * Renames the spare to {@code target} if one was prepared; waits for one being prepared
     * (what remains of it is less than starting over). A spare that failed for lack of space is
     * forgotten: the caller zero-fills {@code target} itself and reports the error as before. A
     * failed force of the spare is a failed fsync like any other (decision 0010).
     */
    private void takeSpare(Path target) throws IOException {
        java.util.concurrent.CompletableFuture<Path> f = spare;
        spare = null;
        if (f == null) {
            return;
        }
        Path file;
        try {
            file = f.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof FsyncFailedException failed) {
                throw failed;
            }
            log.debug("spare WAL segment in {} not usable ({}); zero-filling {} in place", dir, e.getCause().toString(),
                    target.getFileName());
            return;
        }
        // Same directory, so atomic; the caller fsyncs the directory before any byte in it is
        // acknowledged (created == true).
        Files.move(file, target);
    }

    /** Starts zero-filling the next spare on a virtual thread, unless preallocation is off or one is pending. */
    private void startSpare() {
        if (!preallocate || spare != null || failure != null) {
            return;
        }
        Path file = dir.resolve(SPARE_NAME);
        java.util.concurrent.CompletableFuture<Path> f = new java.util.concurrent.CompletableFuture<>();
        spare = f;
        Thread.ofVirtual().name("wal-spare-segment").start(() -> {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                zeroFrom(ch, 0);
                fsync.force(ch, file, true);
                f.complete(file);
            } catch (IOException | RuntimeException e) {
                try {
                    Files.deleteIfExists(file); // give the space back (a full disk)
                } catch (IOException ignored) {
                    // the next start of the store removes it
                }
                f.completeExceptionally(e);
            }
        });
    }

    private void closeChannels() throws IOException {
        for (Unforced u : unforced) {
            u.channel().close();
        }
        unforced.clear();
        if (channel != null) {
            channel.close();
            channel = null;
            channelPath = null;
            openSegment = -1;
        }
    }

    private List<Path> segmentFiles() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().matches("[0-9A-F]{24}(\\.partial)?")).sorted().toList();
        }
    }

    private long segmentNumberOf(Path p) {
        String name = p.getFileName().toString().substring(0, 24);
        long hi = Long.parseLong(name.substring(8, 16), 16);
        long lo = Long.parseLong(name.substring(16, 24), 16);
        return hi * (0x1_0000_0000L / segmentSize) + lo;
    }

    private void zeroFrom(FileChannel ch, int offset) throws IOException {
        byte[] zeros = new byte[64 * 1024];
        long pos = offset;
        while (pos < segmentSize) {
            int n = (int) Math.min(zeros.length, segmentSize - pos);
            writeFully(ch, ByteBuffer.wrap(zeros, 0, n), pos);
            pos += n;
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            pos += ch.write(buf, pos);
        }
    }
}
