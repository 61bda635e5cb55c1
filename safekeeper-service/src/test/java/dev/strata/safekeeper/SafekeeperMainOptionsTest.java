package dev.strata.safekeeper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.remote.S3Config;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The {@code --remote-storage-*} options of a safekeeper process. */
class SafekeeperMainOptionsTest {

    @Test
    void withoutABucketThereIsNoOffloadAndStrayOptionsAreRefused() {
        assertThat(SafekeeperMain.remoteStorage(Map.of("node-id", "sk-1"))).isNull();
        assertThatThrownBy(() -> SafekeeperMain.remoteStorage(Map.of("remote-storage-endpoint", "http://127.0.0.1:9000")))
                .hasMessageContaining("--remote-storage-endpoint needs --remote-storage-bucket");
    }

    @Test
    void aBucketWithEndpointRegionAndPrefix() {
        S3Config c = SafekeeperMain.remoteStorage(Map.of("remote-storage-bucket", "b", "remote-storage-endpoint",
                "http://127.0.0.1:9000", "remote-storage-prefix", "strata/dev/"));
        assertThat(c.bucket()).isEqualTo("b");
        assertThat(c.endpoint()).isEqualTo(URI.create("http://127.0.0.1:9000"));
        assertThat(c.region()).isEqualTo("us-east-1");
        assertThat(c.prefix()).isEqualTo("strata/dev/");
        assertThatThrownBy(() -> SafekeeperMain.remoteStorage(Map.of("remote-storage-bucket", "b",
                "remote-storage-prefix", "/bad"))).hasMessageContaining("prefix");
    }

    @Test
    void metricsAreOffWithoutAnEnvironmentAndEveryMinuteWithOne() {
        assertThat(SafekeeperMain.metricsInterval(new HashMap<>(), Map.of())).isNull();
        assertThat(SafekeeperMain.metricsInterval(new HashMap<>(Map.of("metrics-environment", "prod")), Map.of()))
                .isEqualTo(Duration.ofSeconds(60));
        // The environment variable the ECS task sets, and an argument that wins over it.
        assertThat(SafekeeperMain.metricsInterval(new HashMap<>(Map.of("metrics-interval", "15")),
                Map.of("STRATA_SAFEKEEPER_METRICS_ENVIRONMENT", "prod", "STRATA_SAFEKEEPER_METRICS_INTERVAL", "30")))
                .isEqualTo(Duration.ofSeconds(15));
    }

    @Test
    void badMetricsOptionsAreRefusedNamingTheOptionAndValue() {
        assertThatThrownBy(() -> SafekeeperMain.metricsInterval(new HashMap<>(Map.of("metrics-interval", "60")), Map.of()))
                .hasMessage("--metrics-interval needs --metrics-environment");
        assertThatThrownBy(() -> SafekeeperMain.metricsInterval(
                new HashMap<>(Map.of("metrics-environment", "prod", "metrics-interval", "soon")), Map.of()))
                .hasMessage("--metrics-interval must be a number of seconds, got 'soon'");
        assertThatThrownBy(() -> SafekeeperMain.metricsInterval(
                new HashMap<>(Map.of("metrics-environment", "prod", "metrics-interval", "0")), Map.of()))
                .hasMessage("--metrics-interval must be 1 to 86400 seconds, got 0");
        assertThatThrownBy(() -> SafekeeperMain.metricsInterval(new HashMap<>(Map.of("metrics-environment", " ")), Map.of()))
                .hasMessageContaining("--metrics-environment must be a name of 1 to 1024 characters");
    }
}
