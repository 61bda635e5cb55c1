package dev.strata.pageserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** {@code --layer-cache-budget}: byte counts with K/M/G, and clear refusals of anything else. */
class PageserverMainArgsTest {

    @Test
    void layerCacheBudgetTakesBytesWithAnOptionalUnit() {
        assertThat(PageserverMain.bytes("4096")).isEqualTo(4096);
        assertThat(PageserverMain.bytes("64K")).isEqualTo(64L << 10);
        assertThat(PageserverMain.bytes("512m")).isEqualTo(512L << 20);
        assertThat(PageserverMain.bytes("16G")).isEqualTo(16L << 30);
    }

    @Test
    void badBudgetsAreRefusedNamingTheOption() {
        for (String bad : new String[] {"", "G", "1.5G", "-1", "0", "12T", "ten", "9999999999G"}) {
            assertThatThrownBy(() -> PageserverMain.bytes(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("--layer-cache-budget");
        }
    }
}
