package dev.strata.safekeeper.receive;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.WalDecodeException;
import dev.strata.pgcore.wal.WalDecoder;
import java.util.Arrays;

/**
 * Passes on only WAL that decodes: bytes are released up to the end of the last complete,
 * CRC-valid record, and the rest is held until its record is complete. A safekeeper therefore
 * never stores (or acknowledges) a byte of a record it has not checked, and its WAL always
 * ends at a record boundary — the same place a scan after a crash finds.
 *
 * <p>Any decoding failure (bad CRC, garbage, a record longer than allowed) is a
 * {@link WalDecodeException} naming the LSN; nothing from that record on is released.
 */
public final class ValidatedWal {

    /** Validated bytes that belong at {@code start}. */
    public record Released(Lsn start, byte[] bytes) {
    }

    private final WalDecoder decoder;
    private final long expectedSystemId;
    private Lsn pendingStart;
    private byte[] pending = new byte[0];
    private long systemId;
    /** End of an XLOG_SWITCH record whose padding has not all arrived yet, else null. */
    private Lsn switchEnd;

    /**
     * @param start            where the stream starts: a segment start or an (aligned) record boundary
     * @param expectedSystemId the timeline's system identifier, or 0 if not known yet
     */
    public ValidatedWal(Lsn start, int pageSize, int segmentSize, long expectedSystemId) {
        this.decoder = start.segmentOffset(segmentSize) == 0
                ? WalDecoder.atSegmentStart(start)
                : WalDecoder.atRecord(start, null, pageSize, segmentSize);
        this.pendingStart = start;
        this.expectedSystemId = expectedSystemId;
    }

    /**
     * Takes the next bytes of the stream, which must start where the previous ones ended;
     * returns the bytes validated by them (possibly from earlier calls), or null if none yet.
     */
    public Released accept(Lsn at, byte[] data) {
        Lsn expected = pendingStart.plus(pending.length);
        if (!at.equals(expected)) {
            throw new WalDecodeException(at, "WAL stream has a gap or overlap: bytes at " + at + ", expected " + expected);
        }
        decoder.feed(data);
        int old = pending.length;
        pending = Arrays.copyOf(pending, old + data.length);
        System.arraycopy(data, 0, pending, old, data.length);

        Lsn validEnd = switchEnd;
        DecodedRecord r;
        while ((r = decoder.poll()) != null) {
            validEnd = r.endLsn();
            switchEnd = r.isSwitch() ? r.endLsn() : null;
        }
        if (decoder.systemId() != 0) {
            systemId = decoder.systemId();
            if (expectedSystemId != 0 && systemId != expectedSystemId) {
                throw new WalDecodeException(at, "WAL belongs to system " + Long.toUnsignedString(systemId)
                        + ", this timeline to system " + Long.toUnsignedString(expectedSystemId));
            }
        }
        if (decoder.isEndOfWal()) {
            throw new WalDecodeException(decoder.nextRecordLsn(), "the sender sent bytes past its end of WAL");
        }
        if (validEnd != null && validEnd.isAfter(pendingStart)) {
            // An XLOG_SWITCH record "ends" at the next segment start: its padding arrives
            // later, so release at most what has arrived.
            int n = (int) Math.min(validEnd.minus(pendingStart), pending.length);
            byte[] out = Arrays.copyOf(pending, n);
            pending = Arrays.copyOfRange(pending, n, pending.length);
            Lsn at0 = pendingStart;
            pendingStart = at0.plus(n);
            return new Released(at0, out);
        }
        return null;
    }

    /** End of the bytes released so far. */
    public Lsn releasedEnd() {
        return pendingStart;
    }

    /** The system identifier seen in a long page header, or 0. */
    public long systemId() {
        return systemId;
    }
}
