package dev.strata.pgcore.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What CloudWatch Logs needs to find in a line to make metrics of it, read back by Jackson. */
class EmfDocumentTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Instant AT = Instant.parse("2026-12-06T20:00:00.123Z");

    @Test
    void aDocumentDeclaresEveryMetricWithItsUnitAndCarriesTheValuesAtTheRoot() throws Exception {
        String line = EmfDocument.encode("Strata", Map.of("Environment", "prod"), List.of(
                new Sample(MetricNames.REMOTE_UPLOAD_QUEUE_BYTES, Sample.Unit.BYTES, 3L << 30),
                new Sample(MetricNames.PAGESERVER_INGEST_LAG_BYTES, Sample.Unit.BYTES, 0.5)), AT);

        JsonNode doc = JSON.readTree(line);
        JsonNode aws = doc.get("_aws");
        assertThat(aws.get("Timestamp").asLong()).isEqualTo(AT.toEpochMilli());
        JsonNode directive = aws.get("CloudWatchMetrics").get(0);
        assertThat(directive.get("Namespace").asText()).isEqualTo("Strata");
        assertThat(directive.get("Dimensions").get(0).get(0).asText()).isEqualTo("Environment");
        assertThat(directive.get("Metrics")).hasSize(2);
        assertThat(directive.get("Metrics").get(0).get("Name").asText()).isEqualTo("RemoteUploadQueueBytes");
        assertThat(directive.get("Metrics").get(0).get("Unit").asText()).isEqualTo("Bytes");
        assertThat(doc.get("Environment").asText()).isEqualTo("prod");
        assertThat(doc.get("RemoteUploadQueueBytes").isIntegralNumber()).isTrue();
        assertThat(doc.get("RemoteUploadQueueBytes").asLong()).isEqualTo(3L << 30);
        assertThat(doc.get("PageserverIngestLagBytes").asDouble()).isEqualTo(0.5);
    }

    @Test
    void aHostileDimensionValueStaysOneLineOfValidJson() throws Exception {
        String hostile = "a\"b\\c\nd\re\tf\u0001g\u2028h}{";
        String line = EmfDocument.encode("Strata", Map.of("Environment", hostile),
                List.of(new Sample("X", Sample.Unit.COUNT, 1)), AT);

        assertThat(line).doesNotContain("\n").doesNotContain("\r").doesNotContain("\u2028");
        assertThat(JSON.readTree(line).get("Environment").asText()).isEqualTo(hostile);
    }

    @Test
    void namesThatWouldOverwriteEachOtherAreRefused() {
        Map<String, String> dims = new LinkedHashMap<>();
        dims.put("Environment", "prod");
        assertThatThrownBy(() -> EmfDocument.encode("Strata", dims,
                List.of(new Sample("Environment", Sample.Unit.COUNT, 1)), AT))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("collides");
        assertThatThrownBy(() -> EmfDocument.encode("Strata", Map.of("_aws", "x"),
                List.of(new Sample("X", Sample.Unit.COUNT, 1)), AT))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("reserved");
        assertThatThrownBy(() -> EmfDocument.encode("Strata", dims, List.of(), AT))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aDimensionSetNamesOnlyDimensionsTheDocumentCarries() throws Exception {
        Map<String, String> dims = new LinkedHashMap<>();
        dims.put("Environment", "prod");
        dims.put("Node", "agent-10-40-1-7");
        List<Sample> one = List.of(new Sample("ComputeFlushLagBytes", Sample.Unit.BYTES, 42));
        JsonNode doc = new ObjectMapper().readTree(EmfDocument.encode("Strata", dims,
                List.of(List.of("Environment", "Node"), List.of("Environment")), one, AT));
        assertThat(doc.get("_aws").get("CloudWatchMetrics").get(0).get("Dimensions").toString())
                .isEqualTo("[[\"Environment\",\"Node\"],[\"Environment\"]]");
        assertThat(doc.get("ComputeFlushLagBytes").asLong()).isEqualTo(42);
        assertThatThrownBy(() -> EmfDocument.encode("Strata", dims, List.of(List.of("Environment", "Zone")), one, AT))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'Zone'");
        assertThatThrownBy(() -> EmfDocument.encode("Strata", dims, List.of(), one, AT))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least one dimension set");
    }

    @Test
    void aSampleNeedsAPlainNameAndAFiniteValue() {
        assertThatThrownBy(() -> new Sample("bad name", Sample.Unit.COUNT, 1)).hasMessageContaining("metric name");
        assertThatThrownBy(() -> new Sample("", Sample.Unit.COUNT, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Sample("X", Sample.Unit.COUNT, Double.NaN)).hasMessageContaining("finite");
        assertThatThrownBy(() -> new Sample("X", Sample.Unit.COUNT, Double.POSITIVE_INFINITY))
                .hasMessageContaining("finite");
    }
}
