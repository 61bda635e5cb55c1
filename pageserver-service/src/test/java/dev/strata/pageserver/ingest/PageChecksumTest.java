package dev.strata.pageserver.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Properties of {@link PageChecksum} that hold by construction of pg_checksum_page; that the
 * values equal PostgreSQL's is checked against pageinspect's page_checksum in
 * {@link IngestOracleTest#pagesCarryValidChecksumsWhenTheClusterHasThem}.
 */
class PageChecksumTest {

    @Test
    void ignoresTheStoredChecksumAndDependsOnContentAndBlock() {
        byte[] page = new byte[8192];
        new Random(7).nextBytes(page);
        int c = PageChecksum.compute(page, 3);
        assertThat(c).isBetween(1, 65535);

        page[8] ^= 0x11;
        page[9] ^= 0x22;
        assertThat(PageChecksum.compute(page, 3)).as("pd_checksum counts as zero").isEqualTo(c);
        assertThat(PageChecksum.compute(page, 4)).isNotEqualTo(c);
        page[10] ^= 1;
        assertThat(PageChecksum.compute(page, 3)).isNotEqualTo(c);

        PageChecksum.set(page, 3);
        assertThat((page[8] & 0xFF) | (page[9] & 0xFF) << 8).isEqualTo(PageChecksum.compute(page, 3));
    }
}
