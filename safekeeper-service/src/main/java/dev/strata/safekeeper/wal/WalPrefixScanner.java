package dev.strata.safekeeper.wal;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.WalDecodeException;
import dev.strata.pgcore.wal.WalDecoder;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds where a safekeeper's WAL really ends after a restart or crash: the end of the last
 * complete, CRC-valid record. Decodes forward from the start of the segment holding a position
 * known to be durable (the flush LSN in the control file); whatever follows the last good
 * record — a torn write, zeros, stale bytes — is not WAL.
 */
public final class WalPrefixScanner {

    private static final Logger log = LoggerFactory.getLogger(WalPrefixScanner.class);
    private static final int CHUNK = 1 << 20;
    /** XLOG_BLCKSZ: Strata supports the default 8 kB WAL pages only. */
    private static final int WAL_PAGE_SIZE = 8192;

    private WalPrefixScanner() {
    }

    /**
     * @param knownDurable a record boundary at or below the real end (the control file's flush LSN)
     * @return the end of valid WAL, never below {@code knownDurable}
     */
    public static Lsn validEnd(Path walDir, int segmentSize, Lsn timelineStart, Lsn knownDurable) {
        Lsn segStart = Lsn.max(knownDurable.segmentStart(segmentSize), timelineStart.segmentStart(segmentSize));
        // A timeline imported from initdb starts at a record boundary inside its first segment,
        // whose bytes before the start are zeros: decode that segment from the start record on.
        boolean fromStartRecord = timelineStart.segmentOffset(segmentSize) != 0
                && segStart.equals(timelineStart.segmentStart(segmentSize));
        WalDecoder decoder = fromStartRecord
                ? WalDecoder.atRecord(timelineStart, null, WAL_PAGE_SIZE, segmentSize)
                : WalDecoder.atSegmentStart(segStart);
        long skip = fromStartRecord ? timelineStart.segmentOffset(segmentSize) : 0;
        Lsn end = knownDurable;
        byte[] buf = new byte[CHUNK];
        long segNo = segStart.segmentNumber(segmentSize);
        try {
            while (true) {
                Path file = segmentFile(walDir, segNo, segmentSize);
                if (file == null) {
                    break;
                }
                try (InputStream in = Files.newInputStream(file)) {
                    in.skipNBytes(skip);
                    skip = 0;
                    int n;
                    while ((n = in.readNBytes(buf, 0, CHUNK)) > 0) {
                        decoder.feed(buf, 0, n);
                        DecodedRecord r;
                        while ((r = decoder.poll()) != null) {
                            end = Lsn.max(end, r.endLsn());
                        }
                        if (decoder.isEndOfWal()) {
                            return end;
                        }
                    }
                }
                segNo++;
            }
        } catch (WalDecodeException e) {
            log.info("WAL in {} ends at {}: {}", walDir, end, e.getMessage());
        } catch (IOException e) {
            throw new UncheckedIOException("could not scan WAL in " + walDir, e);
        }
        return end;
    }

    private static Path segmentFile(Path dir, long segNo, int segmentSize) {
        String name = Lsn.ofSegment(segNo, segmentSize).walFileName(1, segmentSize);
        Path full = dir.resolve(name);
        if (Files.exists(full)) {
            return full;
        }
        Path partial = dir.resolve(name + SegmentedWalStore.PARTIAL_SUFFIX);
        return Files.exists(partial) ? partial : null;
    }
}
