package dev.strata.safekeeper.receive;

import dev.strata.pgcore.lsn.Lsn;
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

    /**
     * Validated bytes that belong at {@code start}: {@code length} bytes of {@code buffer} from
     * {@code offset}. The buffer is this object's own and is reused by the next {@link #accept}:
     * write the bytes out before calling it again (no copy per message: issue 11 item 9).
     */
    public record Released(Lsn start, byte[] buffer, int offset, int length) {
        /** A copy of the released bytes (tests, callers that keep them). */
        public byte[] bytes() {
            return Arrays.copyOfRange(buffer, offset, offset + length);
        }
    }

    /** Above this a buffer that a very large record grew is given back once mostly empty. */
    private static final int SHRINK_ABOVE = 4 << 20;

    private final WalDecoder decoder;
    private final long expectedSystemId;
    /** LSN of {@code buf[handedOut]}: the first byte not yet released. */
    private Lsn pendingStart;
    /** Bytes received: {@code [0, handedOut)} were released by the last call, {@code [handedOut, len)} are held. */
    private byte[] buf = new byte[64 * 1024];
    private int handedOut;
    private int len;
    private long systemId;
    /** End of an XLOG_SWITCH record whose padding has not all arrived yet, else null. */
    private Lsn switchEnd;

    /**
     * @param start            where the stream starts: a segment start or an (aligned) record boundary
     * @param expectedSystemId the timeline's system identifier, or 0 if not known yet
     */
    public ValidatedWal(Lsn start, int pageSize, int segmentSize, long expectedSystemId) {
        this.decoder = start.segmentOffset(segmentSize) == 0
                ? WalDecoder.atSegmentStart(start).checkOnly()
                : WalDecoder.atRecord(start, null, pageSize, segmentSize).checkOnly();
        this.pendingStart = start;
        this.expectedSystemId = expectedSystemId;
    }

    /** As {@link #accept(Lsn, byte[], int, int)} for the whole array. */
    public Released accept(Lsn at, byte[] data) {
        return accept(at, data, 0, data.length);
    }

    /**
     * Takes the next {@code length} bytes of the stream from {@code data[offset]}, which must
     * start where the previous ones ended; returns the bytes validated by them (possibly from
     * earlier calls), or null if none yet. {@code data} is not kept.
     */
    public Released accept(Lsn at, byte[] data, int offset, int length) {
        java.util.Objects.checkFromIndexSize(offset, length, data.length);
        Lsn expected = pendingStart.plus(len - handedOut);
        if (!at.equals(expected)) {
            throw new WalDecodeException(at, "WAL stream has a gap or overlap: bytes at " + at + ", expected " + expected);
        }
        decoder.feed(data, offset, length);
        hold(data, offset, length);

        Lsn validEnd = switchEnd;
        WalDecoder.CheckedRecord r;
        while ((r = decoder.pollChecked()) != null) {
            validEnd = r.end();
            switchEnd = r.isSwitch() ? r.end() : null;
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
            int n = (int) Math.min(validEnd.minus(pendingStart), len);
            handedOut = n;
            Lsn at0 = pendingStart;
            pendingStart = at0.plus(n);
            return new Released(at0, buf, 0, n);
        }
        return null;
    }

    /**
     * Appends to the held bytes, first dropping what the last call released (only the tail of
     * an incomplete record moves, usually a few KiB; before, every call copied everything held
     * twice and the released bytes once more).
     */
    private void hold(byte[] data, int offset, int length) {
        int held = len - handedOut;
        if (handedOut > 0) {
            System.arraycopy(buf, handedOut, buf, 0, held);
            handedOut = 0;
            len = held;
        }
        long need = (long) len + length;
        if (need > buf.length) {
            buf = Arrays.copyOf(buf, (int) Math.min(Integer.MAX_VALUE - 8, Math.max(need, 2L * buf.length)));
        } else if (buf.length > SHRINK_ABOVE && need < buf.length / 4) {
            buf = Arrays.copyOf(buf, (int) Math.max(need * 2, 64 * 1024));
        }
        System.arraycopy(data, offset, buf, len, length);
        len += length;
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
