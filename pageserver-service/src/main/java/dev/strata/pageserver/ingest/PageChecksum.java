package dev.strata.pageserver.ingest;

/**
 * PostgreSQL's data page checksum ({@code storage/checksum_impl.h}, {@code pg_checksum_page}):
 * 32 interleaved FNV-1a-like hashes over the page read as little-endian uint32 words, with
 * pd_checksum taken as zero, two extra rounds of zeros, xor-folded, mixed with the block
 * number and reduced to 1..65535. Ingest needs it because stamping pd_lsn changes the page,
 * and a compute with data checksums verifies every page it reads.
 */
public final class PageChecksum {

    private static final int N_SUMS = 32;
    private static final int FNV_PRIME = 16777619;
    private static final int[] BASE_OFFSETS = {
        0x5B1F36E9, 0xB8525960, 0x02AB50AA, 0x1DE66D2A, 0x79FF467A, 0x9BB9F8A3, 0x217E7CD2, 0x83E13D2C,
        0xF8D4474F, 0xE39EB970, 0x42C6AE16, 0x993216FA, 0x7B093B5D, 0x98DAFF3C, 0xF718902A, 0x0B1C9CDB,
        0xE58F764B, 0x187636BC, 0x5D7B3BB1, 0xE73DE7DE, 0x92BEC979, 0xCCA6C0B2, 0x304A0979, 0x85AA43D4,
        0x783125BB, 0x6CA8EAA2, 0xE407EAC6, 0x4B5CFC3E, 0x9FBF8C76, 0x15CA20BE, 0xF2CA9FD3, 0x959BD756,
    };
    private static final int CHECKSUM_OFFSET = 8;

    private PageChecksum() {
    }

    /** {@code pg_checksum_page(page, blockNo)}: the checksum the page should carry at that block. */
    public static int compute(byte[] page, long blockNo) {
        if (page.length != PageHeader.PAGE_SIZE) {
            throw new IllegalArgumentException("page of " + page.length + " bytes");
        }
        int[] sums = BASE_OFFSETS.clone();
        int rows = PageHeader.PAGE_SIZE / (4 * N_SUMS);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < N_SUMS; j++) {
                int off = (i * N_SUMS + j) * 4;
                // pd_checksum (bytes 8-9, the low half of word 2) counts as zero.
                int word = off == CHECKSUM_OFFSET ? (int) (PageHeader.u32(page, off) & 0xFFFF_0000L)
                        : (int) PageHeader.u32(page, off);
                sums[j] = comp(sums[j], word);
            }
        }
        for (int round = 0; round < 2; round++) {
            for (int j = 0; j < N_SUMS; j++) {
                sums[j] = comp(sums[j], 0);
            }
        }
        int result = 0;
        for (int s : sums) {
            result ^= s;
        }
        long checksum = (result ^ (int) blockNo) & 0xFFFF_FFFFL;
        return (int) (checksum % 65535 + 1);
    }

    /** Sets pd_checksum to {@link #compute} ({@code PageSetChecksumInplace}). */
    public static void set(byte[] page, long blockNo) {
        int c = compute(page, blockNo);
        page[CHECKSUM_OFFSET] = (byte) c;
        page[CHECKSUM_OFFSET + 1] = (byte) (c >>> 8);
    }

    private static int comp(int checksum, int value) {
        int tmp = checksum ^ value;
        return tmp * FNV_PRIME ^ (tmp >>> 17);
    }
}
