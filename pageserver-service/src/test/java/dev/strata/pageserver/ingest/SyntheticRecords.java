package dev.strata.pageserver.ingest;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.WalDecoder;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * Builds real {@link DecodedRecord}s with main data only, by laying out the PG17 record bytes
 * (24-byte header with CRC-32C, main-data header, data) and decoding them with
 * {@link WalDecoder#atRecord}: the same decoder ingest gets its records from. Records are
 * placed one after another on fresh WAL pages, each starting right after a page header.
 */
final class SyntheticRecords {

    private static final int PAGE = 8192;
    private long nextPage;
    private Lsn prev = Lsn.INVALID;

    /** Records start on the page after {@code after}. */
    SyntheticRecords(Lsn after) {
        this.nextPage = after.value() / PAGE + 1;
    }

    DecodedRecord record(int rmid, int info, int xid, byte[] main) {
        Lsn start = Lsn.of(nextPage * PAGE + 24);
        nextPage += 1 + (24 + 6 + main.length) / (PAGE - 48);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (main.length > 0) {
            if (main.length < 256) {
                body.write(255);
                body.write(main.length);
            } else {
                body.write(254);
                body.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(main.length).array());
            }
            body.writeBytes(main);
        }
        byte[] b = body.toByteArray();
        if (24 + b.length > PAGE - 24) {
            throw new IllegalArgumentException("synthetic records must fit one page");
        }
        byte[] rec = new byte[24 + b.length];
        ByteBuffer h = ByteBuffer.wrap(rec).order(ByteOrder.LITTLE_ENDIAN);
        h.putInt(0, rec.length).putInt(4, xid).putLong(8, prev.value());
        rec[16] = (byte) info;
        rec[17] = (byte) rmid;
        System.arraycopy(b, 0, rec, 24, b.length);
        CRC32C crc = new CRC32C();
        crc.update(rec, 24, b.length);
        crc.update(rec, 0, 20);
        h.putInt(20, (int) crc.getValue());
        WalDecoder d = WalDecoder.atRecord(start, prev.isValid() ? prev : null, PAGE, 16 << 20);
        d.feed(rec);
        d.feed(new byte[(8 - rec.length % 8) % 8 + 8]);
        DecodedRecord r = d.poll();
        if (r == null) {
            throw new IllegalStateException("decoder returned no record");
        }
        prev = start;
        return r;
    }

    static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }
}
