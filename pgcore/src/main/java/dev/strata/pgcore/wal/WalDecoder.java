package dev.strata.pgcore.wal;

import dev.strata.pgcore.lsn.Lsn;
import java.util.Arrays;

/**
 * Streaming WAL decoder: a pure state machine fed raw WAL bytes in order, in chunks of any
 * size that may split pages and records anywhere; {@link #poll()} yields each complete record
 * as soon as its last byte has arrived. Used over segment files ({@link WalReader}) and over
 * replication streams (XLogData payloads) alike.
 *
 * <p>Checks page headers (magic, flags, address, timeline, sizes), continuation lengths,
 * record headers (length, resource manager, prev-link) and CRCs; any violation is a
 * {@link WalDecodeException} naming the LSN. At a record boundary, a zero length, a zeroed
 * page header or a page left over from an older use of a recycled segment is the end of
 * WAL: {@link #poll()} returns null and {@link #isEndOfWal()} becomes true. Memory use is
 * one page of input plus the record being assembled; lengths are bounded before allocating.
 *
 * <p>A decoder made {@link #checkOnly()} checks the same things but does not decode records'
 * contents: {@link #pollChecked()} yields each record's boundaries without assembling it (its
 * CRC is computed over the bytes as they pass). That is all a safekeeper needs to store WAL up
 * to record boundaries, at a fraction of the cost (no copy of the record, no block references).
 */
public final class WalDecoder {

    /** {@code XLogRecordMaxSize}: PostgreSQL never writes a larger record. */
    public static final long MAX_RECORD_LENGTH = 1020L * 1024 * 1024;
    /** Assembly buffers start at most this large and grow as bytes actually arrive. */
    private static final int INITIAL_RECORD_CAPACITY = 64 * 1024;
    private static final int ALIGN = 8;

    private enum State { AT_RECORD, IN_RECORD, SKIP_CONTINUATION, END_OF_WAL, FAILED }

    /** A record whose header, prev-link and CRC were checked and whose contents were not decoded. */
    public record CheckedRecord(Lsn start, Lsn end, boolean isSwitch) {
    }

    private int pageSize;
    private int segmentSize;
    private long systemId;
    private int timeline;

    private byte[] in = new byte[64 * 1024];
    private int head;
    private int tail;
    /** LSN of {@code in[head]}: the next byte to consume. */
    private long pos;
    /** Where the next record starts; bytes before it (padding, a switched segment) are skipped. */
    private long nextRecord;
    /** Start of the previous record, or 0 if unknown (then only {@code xl_prev < start} is checked). */
    private long prevRecord;
    private boolean skipLeadingContinuation;

    private State state = State.AT_RECORD;
    private WalDecodeException failure;
    private long recStart;
    private long recTotal;
    private byte[] recBuf;
    private int recFill;
    private RecordHeader recHeader;
    private long contRemaining;
    private long abortedRecords;
    /** {@link #checkOnly()}: records are checked, not decoded, and not assembled. */
    private boolean checkOnly;
    /** Check-only mode: the record header as it arrives, and the CRC of the bytes after it. */
    private final byte[] recHeaderBytes = new byte[RecordHeader.SIZE];
    private final java.util.zip.CRC32C recCrc = new java.util.zip.CRC32C();
    /** The record the last {@link #decodeNext()} completed: decoded, or only checked. */
    private DecodedRecord decoded;
    private CheckedRecord checked;

    private WalDecoder(long start, long prev, int pageSize, int segmentSize, boolean skipLeadingContinuation) {
        this.pos = start;
        this.nextRecord = start;
        this.prevRecord = prev;
        this.pageSize = pageSize;
        this.segmentSize = segmentSize;
        this.skipLeadingContinuation = skipLeadingContinuation;
    }

    /**
     * A decoder whose first byte is at {@code start}, the start of a record (or the page
     * boundary right before one), as for a replication stream. {@code prev} is that record's
     * expected {@code xl_prev}, or null if unknown.
     */
    public static WalDecoder atRecord(Lsn start, Lsn prev, int pageSize, int segmentSize) {
        WalPageHeader.checkSizes(start, pageSize, segmentSize);
        if (start.value() % ALIGN != 0) {
            throw new IllegalArgumentException("record start " + start + " is not 8-byte aligned");
        }
        if (start.pageOffset(pageSize) != 0 && start.pageOffset(pageSize) < WalPageHeader.SHORT_SIZE) {
            throw new IllegalArgumentException("record start " + start + " is inside a page header");
        }
        return new WalDecoder(start.value(), prev == null ? 0 : prev.value(), pageSize, segmentSize, false);
    }

    /**
     * A decoder whose first byte is the first byte of a segment, as a segment file holds it.
     * Page and segment sizes come from the long page header; a record continued from the
     * previous segment is skipped, and the first record's prev-link is only range-checked.
     */
    public static WalDecoder atSegmentStart(Lsn segmentStart) {
        if (segmentStart.value() % WalPageHeader.MIN_SEGMENT_SIZE != 0) {
            throw new IllegalArgumentException(segmentStart + " cannot be a segment start");
        }
        return new WalDecoder(segmentStart.value(), 0, 0, 0, true);
    }

    /**
     * Appends the next {@code len} bytes of the stream. Bytes are held until {@link #poll()}
     * consumes them, so feed and poll alternately to keep memory at about one chunk.
     */
    public void feed(byte[] bytes, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, bytes.length);
        if (in.length - tail < len) {
            int live = tail - head;
            byte[] target = in;
            if (in.length - live < len) {
                target = new byte[Math.max(in.length * 2, live + len)];
            }
            System.arraycopy(in, head, target, 0, live);
            in = target;
            head = 0;
            tail = live;
        }
        System.arraycopy(bytes, off, in, tail, len);
        tail += len;
    }

    public void feed(byte[] bytes) {
        feed(bytes, 0, bytes.length);
    }

    /** LSN of the next byte the decoder expects to be fed. */
    public Lsn streamEnd() {
        return new Lsn(pos + (tail - head));
    }

    /** True once a record boundary showed the end of WAL (see the class comment). */
    public boolean isEndOfWal() {
        return state == State.END_OF_WAL;
    }

    /** Where the next record would start (after the end of WAL: where WAL ends). */
    public Lsn nextRecordLsn() {
        return new Lsn(Long.compareUnsigned(nextRecord, pos) > 0 ? nextRecord : pos);
    }

    /** Start of the last record returned, or {@link Lsn#INVALID}. */
    public Lsn lastRecordLsn() {
        return new Lsn(prevRecord);
    }

    /** Partial records abandoned because the server overwrote their continuation after a crash. */
    public long abortedRecords() {
        return abortedRecords;
    }

    /** WAL page size (0 until known). */
    public int pageSize() {
        return pageSize;
    }

    /** WAL segment size (0 until known). */
    public int segmentSize() {
        return segmentSize;
    }

    /** System identifier from the last long page header seen, or 0. */
    public long systemId() {
        return systemId;
    }

    /** True if no record is half-assembled and no fed byte is left unconsumed. */
    public boolean isAtBoundary() {
        return (state == State.AT_RECORD || state == State.END_OF_WAL) && head == tail;
    }

    /**
     * Declares that the stream ends here (no more bytes will come). Throws if a record or
     * page header is cut short; fine at a record boundary or after the end of WAL.
     */
    public void finish() {
        if (state == State.FAILED) {
            throw failure;
        }
        if (state == State.END_OF_WAL) {
            return;
        }
        if (state == State.IN_RECORD) {
            throw fail(new WalDecodeException(new Lsn(recStart), "truncated record: xl_tot_len " + recTotal
                    + " but the stream ends after " + recFill + " of its bytes, at " + streamEnd()));
        }
        if (state == State.SKIP_CONTINUATION || head != tail) {
            throw fail(new WalDecodeException(new Lsn(pos), "truncated WAL: the stream ends at " + streamEnd()
                    + " inside a page header or record header"));
        }
    }

    /**
     * The next complete record, or null if more bytes are needed or WAL has ended.
     * After an exception the decoder is unusable and rethrows it.
     */
    public DecodedRecord poll() {
        if (checkOnly) {
            throw new IllegalStateException("a check-only decoder yields records with pollChecked()");
        }
        if (!next()) {
            return null;
        }
        DecodedRecord r = decoded;
        decoded = null;
        return r;
    }

    /**
     * Makes this decoder check records without decoding them (see the class comment); call it
     * before the first {@link #feed}. Returns this decoder.
     */
    public WalDecoder checkOnly() {
        if (pos != nextRecord || tail != 0 || state != State.AT_RECORD) {
            throw new IllegalStateException("checkOnly() after bytes were fed");
        }
        checkOnly = true;
        return this;
    }

    /**
     * The next complete record's boundaries, or null if more bytes are needed or WAL has ended.
     * On a check-only decoder nothing of the record is decoded; on a decoding one this is
     * {@link #poll()} reduced to the boundaries. After an exception the decoder is unusable and
     * rethrows it.
     */
    public CheckedRecord pollChecked() {
        if (!checkOnly) {
            DecodedRecord r = poll();
            return r == null ? null : new CheckedRecord(r.startLsn(), r.endLsn(), r.isSwitch());
        }
        if (!next()) {
            return null;
        }
        CheckedRecord r = checked;
        checked = null;
        return r;
    }

    private boolean next() {
        if (state == State.FAILED) {
            throw failure;
        }
        try {
            return decodeNext();
        } catch (WalDecodeException e) {
            throw fail(e);
        }
    }

    private WalDecodeException fail(WalDecodeException e) {
        state = State.FAILED;
        failure = e;
        return e;
    }

    /** Consumes bytes until a record completes (true: it is in {@link #decoded} or {@link #checked}) or more are needed. */
    private boolean decodeNext() {
        while (true) {
            if (state == State.END_OF_WAL) {
                return false;
            }
            int avail = tail - head;
            if (state == State.AT_RECORD && Long.compareUnsigned(pos, nextRecord) < 0) {
                if (avail == 0) {
                    return false;
                }
                // Alignment padding, or the rest of a segment after XLOG_SWITCH: not parsed.
                int n = (int) Math.min(avail, nextRecord - pos);
                consume(n);
                continue;
            }
            if (pageSize == 0 || pageOffset(pos) == 0) {
                if (!readPageHeader()) {
                    return false;
                }
                continue;
            }
            if (avail == 0) {
                return false;
            }
            int pageLeft = pageSize - pageOffset(pos);
            switch (state) {
                case AT_RECORD -> {
                    if (avail < 4) {
                        return false; // xl_tot_len never crosses a page: records start 8-aligned
                    }
                    long total = LittleEndian.u32(in, head);
                    if (total == 0) {
                        state = State.END_OF_WAL;
                        return false;
                    }
                    if (total < RecordHeader.SIZE || total > MAX_RECORD_LENGTH) {
                        throw new WalDecodeException(new Lsn(pos), "invalid record length: " + total + " (must be "
                                + RecordHeader.SIZE + " to " + MAX_RECORD_LENGTH + ")");
                    }
                    recStart = pos;
                    recTotal = total;
                    recHeader = null;
                    if (total <= pageLeft && total <= avail) {
                        // Fast path: the whole record is on this page and already here.
                        if (checkOnly) {
                            RecordHeader h = checkHeader(in, head);
                            RecordParser.checkCrc(new Lsn(recStart), in, head, (int) total);
                            consume((int) total);
                            return check(h);
                        }
                        byte[] raw = Arrays.copyOfRange(in, head, head + (int) total);
                        consume((int) total);
                        return complete(raw);
                    }
                    recBuf = checkOnly ? null : new byte[(int) Math.min(total, INITIAL_RECORD_CAPACITY)];
                    recCrc.reset();
                    recFill = 0;
                    state = State.IN_RECORD;
                }
                case IN_RECORD -> {
                    int n = (int) Math.min(Math.min(avail, pageLeft), recTotal - recFill);
                    if (checkOnly) {
                        // The header is kept (its CRC comes last); the rest only feeds the CRC.
                        int headerPart = recFill >= RecordHeader.SIZE ? 0 : Math.min(n, RecordHeader.SIZE - recFill);
                        if (headerPart > 0) {
                            System.arraycopy(in, head, recHeaderBytes, recFill, headerPart);
                        }
                        recCrc.update(in, head + headerPart, n - headerPart);
                    } else {
                        if (recBuf.length < recFill + n) {
                            recBuf = Arrays.copyOf(recBuf, (int) Math.min(recTotal, Math.max(recBuf.length * 2L, recFill + n)));
                        }
                        System.arraycopy(in, head, recBuf, recFill, n);
                    }
                    consume(n);
                    recFill += n;
                    if (recHeader == null && recFill >= RecordHeader.SIZE) {
                        recHeader = checkHeader(checkOnly ? recHeaderBytes : recBuf, 0);
                    }
                    if (recFill == recTotal) {
                        state = State.AT_RECORD;
                        if (checkOnly) {
                            recCrc.update(recHeaderBytes, 0, RecordHeader.CRC_OFFSET);
                            RecordParser.compareCrc(new Lsn(recStart), (int) recCrc.getValue(), recHeaderBytes, 0);
                            return check(recHeader);
                        }
                        byte[] raw = recBuf;
                        recBuf = null;
                        return complete(raw);
                    }
                }
                case SKIP_CONTINUATION -> {
                    int n = (int) Math.min(Math.min(avail, pageLeft), contRemaining);
                    consume(n);
                    contRemaining -= n;
                    if (contRemaining == 0) {
                        state = State.AT_RECORD;
                        nextRecord = alignUp(pos);
                    }
                }
                case END_OF_WAL, FAILED -> throw new IllegalStateException("unreachable: " + state);
            }
        }
    }

    private boolean complete(byte[] raw) {
        RecordHeader header = recHeader != null ? recHeader : checkHeader(raw, 0);
        long end = recordEnd(header);
        decoded = RecordParser.parse(new Lsn(recStart), new Lsn(end), header, raw);
        nextRecord = end;
        prevRecord = recStart;
        return true;
    }

    /** Check-only mode's {@link #complete}: header and CRC were checked as the bytes passed. */
    private boolean check(RecordHeader header) {
        long end = recordEnd(header);
        checked = new CheckedRecord(new Lsn(recStart), new Lsn(end), DecodedRecord.isSwitch(header.rmid(), header.info()));
        nextRecord = end;
        prevRecord = recStart;
        return true;
    }

    /** Where the record that ends at {@link #pos} is over: aligned, or past the segment for XLOG_SWITCH. */
    private long recordEnd(RecordHeader header) {
        if (DecodedRecord.isSwitch(header.rmid(), header.info())) {
            // The rest of the segment is unused: the next record is on the next segment.
            long offset = pos % segmentSize;
            return offset == 0 ? pos : pos - offset + segmentSize;
        }
        return alignUp(pos);
    }

    private RecordHeader checkHeader(byte[] raw, int off) {
        RecordHeader h = RecordHeader.parse(raw, off);
        Lsn at = new Lsn(recStart);
        if (!RmgrId.isValid(h.rmid())) {
            throw new WalDecodeException(at, "invalid resource manager ID " + h.rmid());
        }
        if (prevRecord != 0) {
            if (h.prev().value() != prevRecord) {
                throw new WalDecodeException(at, "record with incorrect prev-link " + h.prev() + ", expected "
                        + new Lsn(prevRecord));
            }
        } else if (Long.compareUnsigned(h.prev().value(), recStart) >= 0) {
            throw new WalDecodeException(at, "record with incorrect prev-link " + h.prev() + " (not before the record)");
        }
        return h;
    }

    /** Reads and checks the page header at {@code pos}; false if more bytes are needed or WAL ended. */
    private boolean readPageHeader() {
        int avail = tail - head;
        if (avail < WalPageHeader.SHORT_SIZE) {
            return false;
        }
        int info = LittleEndian.u16(in, head + 2);
        if (avail < WalPageHeader.sizeForInfo(info)) {
            return false;
        }
        Lsn page = new Lsn(pos);
        WalPageHeader h = WalPageHeader.parse(in, head);
        boolean atBoundary = state == State.AT_RECORD && !skipLeadingContinuation;
        if (atBoundary && h.isLeftover(page, pageSize)) {
            state = State.END_OF_WAL; // never written, or left from a recycled segment's former use
            return false;
        }
        h.check(page);
        if (h.isLong()) {
            h.checkLong(page, pageSize, segmentSize, systemId);
            pageSize = h.pageSize();
            segmentSize = h.segmentSize();
            systemId = h.systemId();
        } else if (segmentSize == 0 || pos % segmentSize == 0) {
            throw new WalDecodeException(page, "WAL page at a segment start lacks the long header");
        }
        if (h.timeline() < timeline) {
            throw new WalDecodeException(page, "out-of-sequence timeline " + h.timeline() + " after " + timeline);
        }
        timeline = h.timeline();
        checkContinuation(page, h);
        consume(h.size());
        if (state == State.AT_RECORD && nextRecord == page.value()) {
            nextRecord = pos;
        }
        return true;
    }

    private void checkContinuation(Lsn page, WalPageHeader h) {
        switch (state) {
            case IN_RECORD -> {
                if (!h.isContinuation() && (h.info() & WalPageHeader.FIRST_IS_OVERWRITE_CONTRECORD) != 0) {
                    // The server crashed mid-record and, after recovery, wrote new WAL (an
                    // OVERWRITE_CONTRECORD record first) where the rest would have been: the
                    // partial record never existed. Its prev-link is the last complete record.
                    abortedRecords++;
                    recBuf = null;
                    state = State.AT_RECORD;
                    nextRecord = page.value();
                    return;
                }
                if (!h.isContinuation()) {
                    throw new WalDecodeException(new Lsn(recStart), "there is no contrecord flag at " + page
                            + " (record of " + recTotal + " bytes, " + recFill + " read)");
                }
                long expected = recTotal - recFill;
                if (h.remLen() != expected) {
                    throw new WalDecodeException(new Lsn(recStart), "invalid contrecord length " + h.remLen()
                            + " at " + page + ", expected " + expected);
                }
            }
            case SKIP_CONTINUATION -> {
                if (!h.isContinuation() && (h.info() & WalPageHeader.FIRST_IS_OVERWRITE_CONTRECORD) != 0) {
                    state = State.AT_RECORD; // the record being skipped was overwritten (see IN_RECORD)
                    nextRecord = page.value();
                    return;
                }
                if (!h.isContinuation() || h.remLen() != contRemaining) {
                    throw new WalDecodeException(page, "invalid contrecord length " + h.remLen() + ", expected "
                            + contRemaining);
                }
            }
            case AT_RECORD -> {
                if (skipLeadingContinuation) {
                    skipLeadingContinuation = false;
                    if (h.isContinuation() && h.remLen() > 0) {
                        if (h.remLen() > MAX_RECORD_LENGTH) {
                            throw new WalDecodeException(page, "invalid contrecord length " + h.remLen());
                        }
                        state = State.SKIP_CONTINUATION;
                        contRemaining = h.remLen();
                    }
                } else if (h.isContinuation() && nextRecord == page.value()) {
                    throw new WalDecodeException(page, "contrecord flag set where a new record must start");
                }
            }
            case END_OF_WAL, FAILED -> throw new IllegalStateException("unreachable: " + state);
        }
    }

    private void consume(int n) {
        head += n;
        pos += n;
        if (head == tail) {
            head = 0;
            tail = 0;
        }
    }

    private int pageOffset(long lsn) {
        return (int) (lsn & (pageSize - 1));
    }

    private static long alignUp(long lsn) {
        return (lsn + ALIGN - 1) & -ALIGN;
    }
}
