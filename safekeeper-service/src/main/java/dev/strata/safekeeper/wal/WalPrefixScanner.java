package dev.strata.safekeeper.wal;

import dev.strata.pgcore.lsn.Lsn;
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
 * complete, CRC-valid record. Decodes forward from the start of the segment holding the flush
 * LSN the control file recorded; whatever follows the last good record — a torn write, zeros,
 * stale bytes — is not WAL.
 *
 * <p>Only what is read back counts (decision 0010): if the WAL on disk ends before the recorded
 * flush LSN (a force that reported success lost the data, or a failed fsync left the pages
 * dropped), the result is the real end, below the recorded one, and the shortfall is logged as
 * an error. The safekeeper then votes and serves with what it really has.
 */
public final class WalPrefixScanner {

    private static final Logger log = LoggerFactory.getLogger(WalPrefixScanner.class);
    private static final int CHUNK = 1 << 20;
    /** XLOG_BLCKSZ: Strata supports the default 8 kB WAL pages only. */
    private static final int WAL_PAGE_SIZE = 8192;

    private WalPrefixScanner() {
    }

    /**
     * @param knownDurable the control file's flush LSN, a record boundary that should be at or
     *                     below the real end
     * @return the end of the valid WAL read back (below {@code knownDurable} if the disk lost WAL)
     */
    public static Lsn validEnd(Path walDir, int segmentSize, Lsn timelineStart, Lsn knownDurable) {
        Lsn segStart = Lsn.max(knownDurable.segmentStart(segmentSize), timelineStart.segmentStart(segmentSize));
        // Begin one segment earlier when it is still held, so that a record that crosses into the
        // flush LSN's segment (and may end exactly at the flush LSN) is read whole and checked.
        Lsn earlier = segStart.segmentNumber(segmentSize) > timelineStart.segmentNumber(segmentSize)
                ? Lsn.ofSegment(segStart.segmentNumber(segmentSize) - 1, segmentSize) : null;
        if (earlier != null && segmentFile(walDir, earlier.segmentNumber(segmentSize), segmentSize) != null) {
            segStart = earlier;
        }
        // A timeline imported from initdb starts at a record boundary inside its first segment,
        // whose bytes before the start are zeros: decode that segment from the start record on.
        boolean fromStartRecord = timelineStart.segmentOffset(segmentSize) != 0
                && segStart.equals(timelineStart.segmentStart(segmentSize));
        WalDecoder decoder = fromStartRecord
                ? WalDecoder.atRecord(timelineStart, null, WAL_PAGE_SIZE, segmentSize).checkOnly()
                : WalDecoder.atSegmentStart(segStart).checkOnly();
        long skip = fromStartRecord ? timelineStart.segmentOffset(segmentSize) : 0;
        // Nothing read yet: the WAL held is known to reach the start of the scan only.
        Lsn end = fromStartRecord ? timelineStart : segStart;
        boolean decodedAny = false;
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
                        WalDecoder.CheckedRecord r;
                        while ((r = decoder.pollChecked()) != null) {
                            end = Lsn.max(end, r.end());
                            decodedAny = true;
                        }
                        if (decoder.isEndOfWal()) {
                            return checked(walDir, end, knownDurable, decodedAny);
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
        return checked(walDir, end, knownDurable, decodedAny);
    }

    private static Lsn checked(Path walDir, Lsn end, Lsn recorded, boolean decodedAny) {
        if (!decodedAny && end.isBefore(recorded)) {
            // Not one record completed in the scan: the recorded flush LSN ends a record that
            // began in a segment no longer held (or the WAL is unreadable there), so nothing read
            // back contradicts it; keep it as the only known end.
            log.warn("WAL in {}: no complete record found from {} on; keeping the recorded flush LSN {}", walDir, end, recorded);
            return recorded;
        }
        if (end.isBefore(recorded)) {
            log.error("WAL in {} ends at {}, {} bytes before the flush LSN {} the control file recorded: WAL counted as "
                    + "durable is not on disk (a lost or failed fsync); continuing with the WAL really held", walDir, end,
                    recorded.minus(end), recorded);
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
