package dev.strata.pageserver.ingest;

import dev.strata.pgcore.lsn.Lsn;

/**
 * The few fields of PostgreSQL's page header ({@code storage/bufpage.h},
 * {@code PageHeaderData}) ingest touches. Pages are in the server's byte order; Strata runs
 * PostgreSQL on x86-64 only, so little-endian.
 */
final class PageHeader {

    static final int PAGE_SIZE = 8192;
    /** {@code SizeOfPageHeaderData}, already MAXALIGNed: where a page's contents start. */
    static final int SIZE = 24;

    private PageHeader() {
    }

    /**
     * Stamps {@code pd_lsn} the way redo does ({@code PageSetLSN(page, EndRecPtr)}):
     * {@code xlogid} (high 32 bits) then {@code xrecoff} (low 32 bits), each a uint32.
     */
    static void setLsn(byte[] page, Lsn lsn) {
        long v = lsn.value();
        putU32(page, 0, (int) (v >>> 32));
        putU32(page, 4, (int) v);
    }

    static Lsn lsn(byte[] page) {
        long hi = u32(page, 0);
        long lo = u32(page, 4);
        return Lsn.of((hi << 32) | lo);
    }

    static long u32(byte[] b, int off) {
        return (b[off] & 0xFFL) | (b[off + 1] & 0xFFL) << 8 | (b[off + 2] & 0xFFL) << 16 | (b[off + 3] & 0xFFL) << 24;
    }

    static int u16(byte[] b, int off) {
        return (b[off] & 0xFF) | (b[off + 1] & 0xFF) << 8;
    }

    static void putU32(byte[] b, int off, int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
        b[off + 2] = (byte) (v >>> 16);
        b[off + 3] = (byte) (v >>> 24);
    }
}
