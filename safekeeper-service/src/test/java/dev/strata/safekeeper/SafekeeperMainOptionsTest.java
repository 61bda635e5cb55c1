package dev.strata.safekeeper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.remote.S3Config;
import java.net.URI;
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
}
