package dev.strata.proxy.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.metrics.EmfDocument;
import dev.strata.pgcore.metrics.MetricNames;
import dev.strata.pgcore.metrics.Sample;
import dev.strata.proxy.ProxyConfig;
import dev.strata.proxy.ProxyServer;
import dev.strata.proxy.protocol.ErrorKind;
import dev.strata.proxy.testing.FaultyWakes;
import dev.strata.proxy.testing.PostgresComputeControl;
import dev.strata.proxy.wake.WakePolicy;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The proxy's metrics against a real proxy, real pgjdbc clients and a real PostgreSQL 17
 * compute woken through {@link PostgresComputeControl}: each client outcome moves exactly the
 * counters it should, and {@link ProxyServer#metrics()} starts a new interval.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class ProxyMetricsTest {

    static PostgresComputeControl control;
    static FaultyWakes faulty;

    @BeforeAll
    static void start() {
        control = new PostgresComputeControl();
        control.add("main", null);
        control.add("broken", null);
        faulty = new FaultyWakes(control);
        faulty.failNextWakes("broken", -1); // every wake of it fails
    }

    @AfterAll
    static void stop() {
        if (control != null) {
            control.close();
        }
    }

    private static ProxyServer proxy(Duration wakeTimeout) {
        return ProxyServer.start(ProxyConfig.defaults().withPort(0)
                .withWake(WakePolicy.DEFAULT.withTimeout(wakeTimeout)), faulty);
    }

    private static String url(ProxyServer proxy, String endpoint) {
        return "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/postgres?options=endpoint%3D" + endpoint
                + "&user=postgres&password=" + URLEncoder.encode(control.compute("main").server.password(),
                StandardCharsets.UTF_8) + "&connectTimeout=60&sslmode=disable";
    }

    private static Map<String, Double> values(List<Sample> samples) {
        return samples.stream().collect(Collectors.toMap(Sample::name, Sample::value));
    }

    @Test
    void aWokenSessionAndARefusedClientAreCountedOnceEach() throws Exception {
        try (ProxyServer proxy = proxy(Duration.ofSeconds(60))) {
            Map<String, Double> before = values(proxy.metrics());
            assertThat(before.get(MetricNames.PROXY_CONNECTIONS_ACCEPTED)).isEqualTo(0.0);
            assertThat(before.get(MetricNames.PROXY_ENDPOINTS_RUNNING)).isEqualTo(0.0);
            assertThat(before).doesNotContainKey(MetricNames.PROXY_WAKE_LATENCY_P50);

            List<Sample> samples;
            try (Connection c = DriverManager.getConnection(url(proxy, "main"));
                 Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) {
                assertThat(rs.next()).isTrue();
                samples = proxy.metrics(); // while the session is open
            }
            Map<String, Double> woken = values(samples);
            assertThat(woken.get(MetricNames.PROXY_CONNECTIONS_OPEN)).isEqualTo(1.0);
            assertThat(woken.get(MetricNames.PROXY_CONNECTIONS_ACCEPTED)).isEqualTo(1.0);
            assertThat(woken.get(MetricNames.PROXY_CONNECTIONS_REFUSED)).isEqualTo(0.0);
            assertThat(woken.get(MetricNames.PROXY_ENDPOINTS_RUNNING)).isEqualTo(1.0);
            assertThat(woken.get(MetricNames.PROXY_WAKES_STARTED)).isEqualTo(1.0);
            assertThat(woken.get(MetricNames.PROXY_WAKES_FAILED)).isEqualTo(0.0);
            assertThat(woken.get(MetricNames.PROXY_WAKE_LATENCY_P50)).isPositive()
                    .isEqualTo(woken.get(MetricNames.PROXY_WAKE_LATENCY_MAX)); // one wake: median = max

            String doc = EmfDocument.encode(MetricNames.NAMESPACE, Map.of(MetricNames.ENVIRONMENT, "prod"), samples,
                    Instant.ofEpochMilli(1000));
            assertThat(doc).contains("\"Dimensions\":[[\"Environment\"]]")
                    .contains("{\"Name\":\"ProxyWakeLatencyP50\",\"Unit\":\"Milliseconds\"}")
                    .contains("{\"Name\":\"ProxyConnectionsRefusedWakeFailed\",\"Unit\":\"Count\"}")
                    .contains("\"ProxyConnectionsAccepted\":1,")
                    .contains("\"ProxyWakesStarted\":1,");

            assertThatThrownBy(() -> DriverManager.getConnection(url(proxy, "nosuch")).close())
                    .isInstanceOf(SQLException.class).hasMessageContaining("nosuch");
            Map<String, Double> refused = values(proxy.metrics());
            assertThat(refused.get(MetricNames.PROXY_CONNECTIONS_ACCEPTED)).isEqualTo(1.0);
            assertThat(refused.get(ProxyMetrics.refusedMetric(ErrorKind.UNKNOWN_ENDPOINT))).isEqualTo(1.0);
            assertThat(refused.get(MetricNames.PROXY_CONNECTIONS_REFUSED)).isEqualTo(1.0);
            assertThat(refused.get(MetricNames.PROXY_WAKES_STARTED)).isEqualTo(0.0);
            assertThat(refused).doesNotContainKey(MetricNames.PROXY_WAKE_LATENCY_MAX);
        }
    }

    @Test
    void aWakeThatNeverSucceedsIsAFailedWakeAndAWakeFailedRefusal() throws Exception {
        try (ProxyServer proxy = proxy(Duration.ofSeconds(2))) {
            assertThatThrownBy(() -> DriverManager.getConnection(url(proxy, "broken")).close())
                    .isInstanceOf(SQLException.class).hasMessageContaining("did not start");
            Map<String, Double> m = values(proxy.metrics());
            assertThat(m.get(MetricNames.PROXY_WAKES_STARTED)).isEqualTo(1.0);
            assertThat(m.get(MetricNames.PROXY_WAKES_FAILED)).isEqualTo(1.0);
            assertThat(m.get(ProxyMetrics.refusedMetric(ErrorKind.WAKE_FAILED))).isEqualTo(1.0);
            assertThat(m.get(MetricNames.PROXY_CONNECTIONS_REFUSED)).isEqualTo(1.0);
            assertThat(m.get(MetricNames.PROXY_ENDPOINTS_RUNNING)).isEqualTo(0.0);
            assertThat(m).doesNotContainKey(MetricNames.PROXY_WAKE_LATENCY_P50);
        }
    }

    @Test
    void refusalMetricNamesAreTheKindInCamelCase() {
        assertThat(ProxyMetrics.refusedMetric(ErrorKind.WAKE_FAILED)).isEqualTo("ProxyConnectionsRefusedWakeFailed");
        assertThat(ProxyMetrics.refusedMetric(ErrorKind.TOO_MANY_CONNECTIONS))
                .isEqualTo("ProxyConnectionsRefusedTooManyConnections");
        assertThat(ProxyMetrics.refusedMetric(ErrorKind.INTERNAL)).isEqualTo("ProxyConnectionsRefusedInternal");
    }
}
