package dev.strata.proxy;

import dev.strata.pgcore.id.EndpointId;
import dev.strata.proxy.wake.StaticComputeControl;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The command line of the standalone proxy: {@code --listen} reaches the client listener's bind. */
class ProxyMainTest {

    private static final String ENDPOINT = "ep1=127.0.0.1:5432";

    @Test
    void theClientListenerIsOnLoopbackWithoutListen() {
        ProxyMain.Options o = ProxyMain.parse(new String[]{"--endpoint", ENDPOINT});
        assertThat(o.config().host()).isEqualTo("127.0.0.1");
        assertThat(o.endpoints()).containsOnlyKeys(EndpointId.of("ep1"));
    }

    @Test
    void listenTakesIpv4AndIpv6Literals() {
        assertThat(ProxyMain.parse(new String[]{"--listen", "0.0.0.0", "--endpoint", ENDPOINT}).config().host())
                .isEqualTo("0.0.0.0");
        assertThat(ProxyMain.parse(new String[]{"--listen", "::", "--endpoint", ENDPOINT}).config().host())
                .isEqualTo("::");
    }

    @Test
    void aBadListenAddressIsRefusedNamingTheOptionAndTheValue() {
        for (String bad : new String[]{"localhost", "0.0.0.256", "10.0.0", "", "1.2.3.4:5432"}) {
            assertThatThrownBy(() -> ProxyMain.parse(new String[]{"--listen", bad, "--endpoint", ENDPOINT}))
                    .as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("--listen: listen address must be an IPv4 or IPv6 literal")
                    .hasMessageEndingWith("got '" + bad + "'");
        }
        assertThatThrownBy(() -> ProxyMain.parse(new String[]{"--endpoint", ENDPOINT, "--listen"}))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("--listen needs a value");
    }

    @Test
    void otherMistakesAreNamedToo() {
        assertThatThrownBy(() -> ProxyMain.parse(new String[]{"--port", "x", "--endpoint", ENDPOINT}))
                .hasMessage("--port wants a number, got 'x'");
        assertThatThrownBy(() -> ProxyMain.parse(new String[]{"--status-port", "0", "--endpoint", ENDPOINT}))
                .hasMessageContaining("--auth-public-keys");
        assertThatThrownBy(() -> ProxyMain.parse(new String[]{"--listen", "127.0.0.1"}))
                .hasMessageContaining("--endpoint");
    }

    @Test
    void theListenAddressIsTheAddressTheClientListenerIsBoundTo() throws IOException {
        // 127.0.0.2 is loopback too (Linux routes all of 127/8 to lo): a non-default address a test may bind.
        ProxyMain.Options o = ProxyMain.parse(new String[]{"--listen", "127.0.0.2", "--port", "0", "--endpoint", ENDPOINT});
        try (ProxyServer proxy = ProxyServer.start(o.config(), new StaticComputeControl(o.endpoints()), o.limits())) {
            InetSocketAddress bound = proxy.localAddress();
            assertThat(bound.getAddress()).isEqualTo(InetAddress.getByName("127.0.0.2"));
            assertThat(bound.getPort()).isPositive();
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.2", bound.getPort()), 10_000);
                assertThat(s.isConnected()).isTrue();
            }
        }
    }

    @Test
    void metricsAreOffByDefaultAndOnWithAnEnvironmentFromTheArgumentsOrTheTaskEnvironment() {
        ProxyMain.Options off = ProxyMain.parse(new String[]{"--endpoint", ENDPOINT});
        assertThat(off.metricsInterval()).isNull();
        ProxyMain.Options on = ProxyMain.parse(new String[]{"--metrics-environment", "prod", "--metrics-interval", "30",
                "--endpoint", ENDPOINT});
        assertThat(on.metricsEnvironment()).isEqualTo("prod");
        assertThat(on.metricsInterval()).isEqualTo(Duration.ofSeconds(30));
        ProxyMain.Options fromEnv = ProxyMain.parse(new String[]{"--endpoint", ENDPOINT},
                Map.of("STRATA_PROXY_METRICS_ENVIRONMENT", "staging"));
        assertThat(fromEnv.metricsEnvironment()).isEqualTo("staging");
        assertThat(fromEnv.metricsInterval()).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void badMetricsOptionsAreRefusedNamingTheOptionAndTheValue() {
        assertThatThrownBy(() -> ProxyMain.parse(new String[]{"--metrics-interval", "60", "--endpoint", ENDPOINT}))
                .hasMessage("--metrics-interval needs --metrics-environment");
        assertThatThrownBy(() -> ProxyMain.parse(new String[]{"--metrics-environment", "prod", "--metrics-interval",
                "-5", "--endpoint", ENDPOINT})).hasMessage("--metrics-interval must be 1 to 86400 seconds, got -5");
        assertThatThrownBy(() -> ProxyMain.parse(new String[]{"--metrics-environment", "prod", "--metrics-interval",
                "1m", "--endpoint", ENDPOINT})).hasMessage("--metrics-interval must be a number of seconds, got '1m'");
        assertThatThrownBy(() -> ProxyMain.parse(new String[]{"--endpoint", ENDPOINT, "--metrics-environment"}))
                .hasMessage("--metrics-environment needs a value");
    }

    @Test
    void theWakeTimeoutIsAnOption() {
        assertThat(ProxyMain.parse(new String[]{"--endpoint", ENDPOINT}).config().wake().timeout())
                .isEqualTo(java.time.Duration.ofSeconds(30));
        assertThat(ProxyMain.parse(new String[]{"--wake-timeout-seconds", "90", "--endpoint", ENDPOINT}).config().wake()
                .timeout()).isEqualTo(java.time.Duration.ofSeconds(90));
        assertThatThrownBy(() -> ProxyMain.parse(new String[]{"--wake-timeout-seconds", "0", "--endpoint", ENDPOINT}))
                .hasMessageContaining("--wake-timeout-seconds must be 1..600");
    }
}
