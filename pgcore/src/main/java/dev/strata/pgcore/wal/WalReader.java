package dev.strata.pgcore.wal;

import dev.strata.pgcore.lsn.Lsn;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads WAL records from the segment files of a directory such as {@code pg_wal/}, one
 * segment at a time through a {@link WalDecoder}: memory stays at one read chunk plus one
 * record however much WAL there is. Segment and page sizes come from the segments' long
 * headers. Stops at the end of WAL, at a missing next segment, or before the first record
 * ending after an optional stop LSN.
 */
public final class WalReader implements AutoCloseable {

    private static final int CHUNK = 1 << 20;

    private final Path directory;
    private final int timeline;
    private final Lsn stopAt;
    private final WalDecoder decoder;
    private final int segmentSize;
    private final byte[] chunk = new byte[CHUNK];
    private FileChannel current;
    private long nextSegment;
    private long fedUpTo;
    private boolean exhausted;

    /**
     * Reads records starting at {@code start} (a segment start, or a record start) on
     * {@code timeline}; with {@code stopAt} non-null, returns only records ending at or
     * before it (as pg_walinspect's end LSN).
     */
    public WalReader(Path directory, int timeline, Lsn start, Lsn stopAt) {
        this.directory = directory;
        this.timeline = timeline;
        this.stopAt = stopAt;
        this.segmentSize = probeSegmentSize(directory);
        long segStart = start.value() - start.segmentOffset(segmentSize);
        if (segStart == start.value()) {
            this.decoder = WalDecoder.atSegmentStart(start);
        } else {
            int pageSize = probePageSize(segmentFile(start.segmentNumber(segmentSize)));
            this.decoder = WalDecoder.atRecord(start, null, pageSize, segmentSize);
        }
        this.nextSegment = start.segmentNumber(segmentSize);
        this.fedUpTo = start.value();
        openSegment(start.segmentOffset(segmentSize));
    }

    /** True once the decoder found the end of WAL (not merely the last file or the stop LSN). */
    public boolean reachedEndOfWal() {
        return decoder.isEndOfWal();
    }

    /** Partial records skipped because the server overwrote them after a crash. */
    public long abortedRecords() {
        return decoder.abortedRecords();
    }

    public int segmentSize() {
        return segmentSize;
    }

    /** The next record, or null at the end (see the class comment). */
    public DecodedRecord next() {
        while (true) {
            DecodedRecord record = decoder.poll();
            if (record != null) {
                if (stopAt != null && record.endLsn().isAfter(stopAt)) {
                    exhausted = true;
                    return null;
                }
                return record;
            }
            if (exhausted || decoder.isEndOfWal()) {
                return null;
            }
            if (!feedMore()) {
                exhausted = true;
                if (stopAt == null || Long.compareUnsigned(fedUpTo, stopAt.value()) < 0) {
                    decoder.finish(); // throws if the last segment ends inside a record
                }
                return null;
            }
        }
    }

    private boolean feedMore() {
        try {
            while (true) {
                if (stopAt != null && Long.compareUnsigned(fedUpTo, stopAt.value()) >= 0) {
                    return false;
                }
                if (current == null && !openSegment(0)) {
                    return false;
                }
                int want = CHUNK;
                if (stopAt != null) {
                    want = (int) Math.min(want, stopAt.value() - fedUpTo);
                }
                int n = current.read(ByteBuffer.wrap(chunk, 0, want));
                if (n > 0) {
                    decoder.feed(chunk, 0, n);
                    fedUpTo += n;
                    return true;
                }
                if (fedUpTo % segmentSize != 0) {
                    throw new WalDecodeException(new Lsn(fedUpTo), "WAL segment file ends early ("
                            + (fedUpTo % segmentSize) + " of " + segmentSize + " bytes)");
                }
                current.close();
                current = null;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading WAL in " + directory + " at " + new Lsn(fedUpTo), e);
        }
    }

    private boolean openSegment(long offset) {
        Path file = segmentFile(nextSegment);
        if (!Files.exists(file)) {
            return false;
        }
        try {
            current = FileChannel.open(file, StandardOpenOption.READ);
            current.position(offset);
        } catch (IOException e) {
            throw new UncheckedIOException("opening WAL segment " + file, e);
        }
        nextSegment++;
        return true;
    }

    private Path segmentFile(long segNo) {
        return directory.resolve(Lsn.ofSegment(segNo, segmentSize).walFileName(timeline, segmentSize));
    }

    /**
     * Reads the segment size from the long header of a segment file in the directory. PostgreSQL
     * creates segments ahead of the insert position (zero-filled by {@code wal_init_zero}, or
     * recycled), so a file may exist whose first page was never written: such files are passed
     * over, in name order, and only a directory without any written segment is an error.
     */
    private static int probeSegmentSize(Path directory) {
        List<Path> candidates = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "[0-9A-F]*")) {
            for (Path f : files) {
                if (f.getFileName().toString().length() == 24 && Files.isRegularFile(f)) {
                    candidates.add(f);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("listing WAL directory " + directory, e);
        }
        candidates.sort(null);
        IllegalArgumentException firstProblem = null;
        for (Path f : candidates) {
            try {
                return readLongHeader(f).segmentSize();
            } catch (IllegalArgumentException notWrittenYet) {
                if (firstProblem == null) {
                    firstProblem = notWrittenYet;
                }
            }
        }
        if (firstProblem != null) {
            throw new IllegalArgumentException("no WAL segment file in " + directory
                    + " starts with a PostgreSQL 17 long page header; the first one: " + firstProblem.getMessage(),
                    firstProblem);
        }
        throw new IllegalArgumentException("no WAL segment files in " + directory);
    }

    private static int probePageSize(Path segment) {
        return readLongHeader(segment).pageSize();
    }

    private static WalPageHeader readLongHeader(Path segment) {
        byte[] header = new byte[WalPageHeader.LONG_SIZE];
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.wrap(header);
            while (buf.hasRemaining() && ch.read(buf) > 0) {
                // read the whole header
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading WAL segment " + segment, e);
        }
        WalPageHeader h = WalPageHeader.parse(header, 0);
        if (h.magic() != WalPageHeader.PG17_MAGIC || !h.isLong()) {
            throw new IllegalArgumentException(String.format(java.util.Locale.ROOT,
                    "%s does not start with a PostgreSQL 17 long page header (magic %04X, info %04X)",
                    segment, h.magic(), h.info()));
        }
        return h;
    }

    @Override
    public void close() {
        if (current != null) {
            try {
                current.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            current = null;
        }
    }
}
