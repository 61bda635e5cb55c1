package dev.strata.pgcore.metrics;

import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The CloudWatch embedded metric format (EMF): one JSON object on one line, which CloudWatch Logs
 * turns into metrics when a service's log stream (the ECS {@code awslogs} driver) carries it. No
 * agent and no CloudWatch API call is needed, so a service needs no permission beyond writing its
 * logs. Specification: "Embedded metric format specification" in the CloudWatch user guide.
 *
 * <pre>{"_aws":{"Timestamp":1765000000000,"CloudWatchMetrics":[{"Namespace":"Strata",
 *   "Dimensions":[["Environment"]],"Metrics":[{"Name":"RemoteUploadQueueBytes","Unit":"Bytes"}]}]},
 *   "Environment":"prod","RemoteUploadQueueBytes":1048576}</pre>
 *
 * A codec only: what to report and when is {@link MetricsReporter}'s.
 */
public final class EmfDocument {

    private EmfDocument() {
    }

    /**
     * One document with every sample, each dimension a member of the root and of the one dimension
     * set. Dimension names must not collide with metric names or {@code _aws}.
     */
    public static String encode(String namespace, Map<String, String> dimensions, List<Sample> samples, Instant at) {
        return encode(namespace, dimensions, List.of(List.copyOf(dimensions.keySet())), samples, at);
    }

    /**
     * As {@link #encode(String, Map, List, Instant)} with several dimension sets: CloudWatch makes
     * each sample a metric under each set, e.g. {@code [Environment, Node]} to tell nodes apart and
     * {@code [Environment]} for one series over all of them (an alarm cannot name nodes whose ids
     * come and go). Every dimension a set names must be in {@code dimensions}.
     */
    public static String encode(String namespace, Map<String, String> dimensions, List<List<String>> dimensionSets,
            List<Sample> samples, Instant at) {
        if (samples.isEmpty()) {
            throw new IllegalArgumentException("an EMF document needs at least one sample");
        }
        Set<String> members = new LinkedHashSet<>(List.of("_aws"));
        for (String d : dimensions.keySet()) {
            if (!members.add(d)) {
                throw new IllegalArgumentException("dimension name '" + d + "' is used twice or is reserved");
            }
        }
        for (Sample s : samples) {
            if (!members.add(s.name())) {
                throw new IllegalArgumentException("metric '" + s.name() + "' collides with a dimension or another sample");
            }
        }
        StringBuilder b = new StringBuilder(256);
        b.append("{\"_aws\":{\"Timestamp\":").append(at.toEpochMilli()).append(",\"CloudWatchMetrics\":[{\"Namespace\":");
        string(b, namespace);
        if (dimensionSets.isEmpty()) {
            throw new IllegalArgumentException("an EMF document needs at least one dimension set");
        }
        b.append(",\"Dimensions\":[");
        for (int i = 0; i < dimensionSets.size(); i++) {
            List<String> set = dimensionSets.get(i);
            b.append(i > 0 ? ",[" : "[");
            for (int j = 0; j < set.size(); j++) {
                if (!dimensions.containsKey(set.get(j))) {
                    throw new IllegalArgumentException("dimension set " + set + " names '" + set.get(j)
                            + "', which the document does not carry");
                }
                if (j > 0) {
                    b.append(',');
                }
                string(b, set.get(j));
            }
            b.append(']');
        }
        b.append("],\"Metrics\":[");
        for (int i = 0; i < samples.size(); i++) {
            Sample s = samples.get(i);
            b.append(i > 0 ? "," : "").append("{\"Name\":");
            string(b, s.name());
            b.append(",\"Unit\":");
            string(b, s.unit().wireName());
            b.append('}');
        }
        b.append("]}]}");
        for (Map.Entry<String, String> d : dimensions.entrySet()) {
            b.append(',');
            string(b, d.getKey());
            b.append(':');
            string(b, d.getValue());
        }
        for (Sample s : samples) {
            b.append(',');
            string(b, s.name());
            b.append(':').append(number(s.value()));
        }
        return b.append('}').toString();
    }

    /** Integral values without a fraction, so byte counts read as CloudWatch shows them. */
    private static String number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }

    /** A JSON string; control characters escaped, so a document is always one line. */
    private static void string(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x2028 || c == 0x2029) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }
}
