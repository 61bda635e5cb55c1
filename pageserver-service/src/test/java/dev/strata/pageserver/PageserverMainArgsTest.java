package dev.strata.pageserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code --layer-cache-budget} and the metrics options: what is accepted, and clear refusals of anything else. */
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

    @Test
    void metricsAreOffWithoutAnEnvironmentAndEveryMinuteByDefault() {
        assertThat(PageserverMain.metricsInterval(Map.of())).isNull();
        assertThat(PageserverMain.metricsInterval(Map.of("metrics-environment", "prod"))).isEqualTo(Duration.ofMinutes(1));
        assertThat(PageserverMain.metricsInterval(Map.of("metrics-environment", "prod", "metrics-interval", "10")))
                .isEqualTo(Duration.ofSeconds(10));
    }

    @Test
    void badMetricsOptionsAreRefusedNamingTheOption() {
        assertThatThrownBy(() -> PageserverMain.metricsInterval(Map.of("metrics-interval", "10")))
                .hasMessageContaining("--metrics-interval needs --metrics-environment");
        for (String bad : new String[] {"0", "-5", "ten", "86401", ""}) {
            assertThatThrownBy(() -> PageserverMain.metricsInterval(Map.of("metrics-environment", "p", "metrics-interval", bad)))
                    .as(bad).hasMessageContaining("--metrics-interval");
        }
        assertThatThrownBy(() -> PageserverMain.metricsInterval(Map.of("metrics-environment", " ")))
                .hasMessageContaining("--metrics-environment");
    }
}
