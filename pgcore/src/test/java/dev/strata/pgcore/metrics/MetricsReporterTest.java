package dev.strata.pgcore.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class MetricsReporterTest {

    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-06T20:00:00Z"), ZoneOffset.UTC);

    @Test
    void everyRoundPrintsOneLineUnderTheEnvironmentAndAFailingGaugeSkipsOnlyItsRound() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        AtomicInteger calls = new AtomicInteger();
        try (MetricsReporter r = MetricsReporter.start("staging", Duration.ofMillis(20), () -> {
            int n = calls.incrementAndGet();
            if (n == 2) {
                throw new IllegalStateException("a gauge that fails once");
            }
            return List.of(new Sample(MetricNames.REMOTE_UPLOAD_QUEUE_BYTES, Sample.Unit.BYTES, n));
        }, out, CLOCK)) {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (lines(bytes).size() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
        }
        List<String> lines = lines(bytes);
        assertThat(lines).hasSizeGreaterThanOrEqualTo(3);
        ObjectMapper json = new ObjectMapper();
        JsonNode first = json.readTree(lines.get(0));
        assertThat(first.get("Environment").asText()).isEqualTo("staging");
        assertThat(first.get("_aws").get("CloudWatchMetrics").get(0).get("Namespace").asText()).isEqualTo("Strata");
        assertThat(first.get("RemoteUploadQueueBytes").asLong()).isEqualTo(1);
        // Round 2 threw: the next line is round 3's.
        assertThat(json.readTree(lines.get(1)).get("RemoteUploadQueueBytes").asLong()).isEqualTo(3);
    }

    @Test
    void moreDimensionsFollowTheEnvironmentAndRollUpToTheEnvironmentAlone() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        try (MetricsReporter r = MetricsReporter.start("prod", java.util.Map.of(MetricNames.NODE, "sk-2"),
                Duration.ofHours(1), () -> List.of(new Sample(MetricNames.SAFEKEEPER_IN_QUORUM, Sample.Unit.COUNT, 1)),
                out, CLOCK)) {
            JsonNode doc = new ObjectMapper().readTree(r.reportOnce());
            assertThat(doc.get("_aws").get("CloudWatchMetrics").get(0).get("Dimensions").toString())
                    .isEqualTo("[[\"Environment\",\"Node\"],[\"Environment\"]]");
            assertThat(doc.get("Environment").asText()).isEqualTo("prod");
            assertThat(doc.get("Node").asText()).isEqualTo("sk-2");
            assertThat(doc.get("SafekeeperInQuorum").asInt()).isEqualTo(1);
        }
        assertThatThrownBy(() -> MetricsReporter.start("prod", java.util.Map.of(MetricNames.ENVIRONMENT, "other"),
                Duration.ofHours(1), List::of, System.out, CLOCK))
                .hasMessageContaining("dimension Environment is given twice");
    }

    @Test
    void closeStopsTheReporter() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        MetricsReporter r = MetricsReporter.start("x", Duration.ofMillis(10),
                () -> List.of(new Sample("X", Sample.Unit.COUNT, 1)), out, CLOCK);
        r.close();
        int after = lines(bytes).size();
        Thread.sleep(100);
        assertThat(lines(bytes)).hasSize(after);
    }

    @Test
    void nothingToReportPrintsNothing() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (MetricsReporter r = MetricsReporter.start("x", Duration.ofDays(1), List::of,
                new PrintStream(bytes, true, StandardCharsets.UTF_8), CLOCK)) {
            assertThat(r.reportOnce()).isNull();
        }
        assertThat(bytes.size()).isZero();
    }

    @Test
    void badSettingsAreRefused() {
        PrintStream out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        assertThatThrownBy(() -> MetricsReporter.start(" ", Duration.ofSeconds(1), List::of, out, CLOCK))
                .hasMessageContaining("environment");
        assertThatThrownBy(() -> MetricsReporter.start("x", Duration.ZERO, List::of, out, CLOCK))
                .hasMessageContaining("interval");
    }

    private static List<String> lines(ByteArrayOutputStream bytes) {
        String s = bytes.toString(StandardCharsets.UTF_8);
        return s.isEmpty() ? List.of() : List.of(s.split("\n"));
    }
}
