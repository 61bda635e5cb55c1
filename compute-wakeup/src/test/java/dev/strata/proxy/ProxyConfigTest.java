package dev.strata.proxy;

import dev.strata.proxy.wake.WakePolicy;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ProxyConfigTest {

    @Test
    void defaultsAreTheDocumentedOnes() {
        ProxyConfig c = ProxyConfig.defaults();
        assertThat(c.host()).isEqualTo("127.0.0.1");
        assertThat(c.port()).isEqualTo(55432);
        assertThat(c.tlsDirectory()).isNull();
        assertThat(c.maxConnections()).isEqualTo(1000);
        assertThat(c.startupTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.connectTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.connectAttempts()).isEqualTo(3);
        assertThat(c.wake()).isEqualTo(new WakePolicy(Duration.ofSeconds(30), Duration.ofMillis(100), 1.6, Duration.ofSeconds(5)));
        assertThat(c.defaultIdleTimeout()).isEqualTo(Duration.ofSeconds(300));
        assertThat(c.idleSweepInterval()).isEqualTo(Duration.ofSeconds(1));
        assertThat(c.ioThreads()).isEqualTo(2);
        assertThat(c.requireTls()).isFalse();
    }

    @Test
    void withersChangeOneSettingEach() {
        ProxyConfig d = ProxyConfig.defaults();
        ProxyConfig c = d.withPort(0).withTlsDirectory(Path.of("/tmp/x")).withMaxConnections(5)
                .withStartupTimeout(Duration.ofSeconds(2)).withDefaultIdleTimeout(Duration.ofSeconds(9))
                .withIdleSweepInterval(Duration.ofMillis(10)).withIoThreads(1).withRequireTls(true);
        assertThat(c).isEqualTo(new ProxyConfig(d.host(), 0, Path.of("/tmp/x"), 5, Duration.ofSeconds(2),
                d.connectTimeout(), d.connectAttempts(), d.wake(), Duration.ofSeconds(9), Duration.ofMillis(10), 1, true));
    }

    @Test
    void nonsenseIsRefusedWithTheValue() {
        assertThatThrownBy(() -> ProxyConfig.defaults().withPort(70000)).hasMessageContaining("70000");
        assertThatThrownBy(() -> ProxyConfig.defaults().withMaxConnections(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ProxyConfig.defaults().withStartupTimeout(Duration.ZERO)).hasMessageContaining("PT0S");
        assertThatThrownBy(() -> ProxyConfig.defaults().withHost("example.com"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'example.com'");
        assertThat(ProxyConfig.defaults().withHost("0.0.0.0").host()).isEqualTo("0.0.0.0");
        assertThatThrownBy(() -> ProxyConfig.defaults().withRequireTls(true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tlsDirectory");
    }
}
