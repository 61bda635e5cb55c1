package dev.strata.pgcore.wal;

import dev.strata.pgcore.lsn.Lsn;
import java.io.ByteArrayOutputStream;
import java.util.zip.CRC32C;

/**
 * Writes synthetic PG17 WAL for unit tests, laid out as PostgreSQL lays it out: page headers
 * (long on segment starts), records 8-byte aligned, split across pages and segments with
 * continuation headers, correct prev-links and CRCs, XLOG_SWITCH padding to the segment end.
 */
final class WalBuilder {

    static final long SYSID = 7_400_000_000_000_000_001L;

    final int pageSize;
    final int segmentSize;
    final long start;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private long pos;
    private long prev;

    WalBuilder(long segmentStart, int pageSize, int segmentSize) {
        this.start = segmentStart;
        this.pos = segmentStart;
        this.pageSize = pageSize;
        this.segmentSize = segmentSize;
    }

    static WalBuilder small() {
        return new WalBuilder(16L * 1024 * 1024, 8192, 1024 * 1024);
    }

    Lsn position() {
        return new Lsn(pos);
    }

    /** Appends a record with the given body (block headers and data after the 24-byte header); returns its LSN. */
    Lsn record(int rmid, int info, long xid, byte[] body) {
        return raw(recordBytes(rmid, info, xid, prev, body));
    }

    /** A complete record (header with CRC, then body) as it is laid out before page splitting. */
    static byte[] recordBytes(int rmid, int info, long xid, long prev, byte[] body) {
        byte[] rec = new byte[RecordHeader.SIZE + body.length];
        LittleEndian.putI32(rec, 0, rec.length);
        LittleEndian.putI32(rec, 4, (int) xid);
        LittleEndian.putI64(rec, 8, prev);
        rec[16] = (byte) info;
        rec[17] = (byte) rmid;
        System.arraycopy(body, 0, rec, RecordHeader.SIZE, body.length);
        CRC32C crc = new CRC32C();
        crc.update(rec, RecordHeader.SIZE, body.length);
        crc.update(rec, 0, RecordHeader.CRC_OFFSET);
        LittleEndian.putI32(rec, RecordHeader.CRC_OFFSET, (int) crc.getValue());
        return rec;
    }

    /** Appends pre-built record bytes (header included) verbatim, for corrupt records. */
    Lsn raw(byte[] rec) {
        if (pos % pageSize == 0) {
            pageHeader(0);
        }
        long at = pos;
        int written = 0;
        while (written < rec.length) {
            if (pos % pageSize == 0) {
                pageHeader(rec.length - written);
            }
            int n = (int) Math.min(rec.length - written, pageSize - pos % pageSize);
            out.write(rec, written, n);
            pos += n;
            written += n;
        }
        padTo(pos + (8 - pos % 8) % 8, true);
        prev = at;
        return new Lsn(at);
    }

    /** A record with main data only. */
    Lsn mainData(int rmid, int info, long xid, byte[] data) {
        return record(rmid, info, xid, mainDataBody(data));
    }

    /** XLOG_SWITCH, then zeros to the end of the segment. */
    Lsn switchSegment() {
        Lsn at = record(RmgrId.XLOG.id(), 0x40, 0, new byte[0]);
        if (pos % segmentSize != 0) {
            padTo(pos - pos % segmentSize + segmentSize, true);
        }
        return at;
    }

    /** Zeros to the end of the current page and one whole zero page (what unwritten WAL looks like). */
    WalBuilder zeros() {
        padTo(pos - pos % pageSize + 2L * pageSize, false);
        return this;
    }

    byte[] bytes() {
        return out.toByteArray();
    }

    static byte[] mainDataBody(byte[] data) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        if (data.length < 256) {
            b.write(255);
            b.write(data.length);
        } else {
            b.write(254);
            byte[] len = new byte[4];
            LittleEndian.putI32(len, 0, data.length);
            b.writeBytes(len);
        }
        b.writeBytes(data);
        return b.toByteArray();
    }

    private void pageHeader(long remLen) {
        boolean isLong = pos % segmentSize == 0;
        byte[] h = new byte[isLong ? WalPageHeader.LONG_SIZE : WalPageHeader.SHORT_SIZE];
        LittleEndian.putU16(h, 0, WalPageHeader.PG17_MAGIC);
        LittleEndian.putU16(h, 2, (remLen > 0 ? WalPageHeader.FIRST_IS_CONTRECORD : 0) | (isLong ? WalPageHeader.LONG_HEADER : 0));
        LittleEndian.putI32(h, 4, 1);
        LittleEndian.putI64(h, 8, pos);
        LittleEndian.putI32(h, 16, (int) remLen);
        if (isLong) {
            LittleEndian.putI64(h, 24, SYSID);
            LittleEndian.putI32(h, 32, segmentSize);
            LittleEndian.putI32(h, 36, pageSize);
        }
        out.writeBytes(h);
        pos += h.length;
    }

    private void padTo(long target, boolean pageHeaders) {
        while (pos < target) {
            if (pageHeaders && pos % pageSize == 0) {
                pageHeader(0);
                continue;
            }
            out.write(0);
            pos++;
        }
    }
}
