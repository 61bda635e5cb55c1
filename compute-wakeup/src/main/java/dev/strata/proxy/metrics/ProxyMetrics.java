package dev.strata.proxy.metrics;

import dev.strata.pgcore.metrics.MetricNames;
import dev.strata.pgcore.metrics.Sample;
import dev.strata.proxy.protocol.ErrorKind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * The proxy's counters for CloudWatch: connections accepted and refused (by {@link ErrorKind}),
 * wakes started and failed, and the wake latencies of the interval. {@link #read} returns what
 * happened since the previous read and starts a new interval, so one instance serves one
 * reporter. Counting is lock-free (event loops call it); only wake latencies take a lock, once
 * per wake.
 */
public final class ProxyMetrics {

    /**
     * Wake latencies kept per interval for the median; beyond it only the maximum is still
     * exact (a proxy waking more than this many endpoints a minute has other problems to show).
     */
    public static final int MAX_LATENCIES_PER_INTERVAL = 10_000;

    private final LongAdder accepted = new LongAdder();
    private final Map<ErrorKind, LongAdder> refused = new EnumMap<>(ErrorKind.class);
    private final LongAdder wakesStarted = new LongAdder();
    private final LongAdder wakesFailed = new LongAdder();
    private final Object latencyLock = new Object();
    private long[] latencyNanos = new long[16];
    private int latencies;
    private long maxLatencyNanos = -1;

    public ProxyMetrics() {
        for (ErrorKind k : ErrorKind.values()) {
            refused.put(k, new LongAdder());
        }
    }

    /** The metric that counts refusals of {@code kind}: {@code ProxyConnectionsRefused} + the kind in camel case. */
    public static String refusedMetric(ErrorKind kind) {
        StringBuilder b = new StringBuilder(MetricNames.PROXY_CONNECTIONS_REFUSED);
        for (String part : kind.name().split("_")) {
            b.append(part.charAt(0)).append(part.substring(1).toLowerCase(Locale.ROOT));
        }
        return b.toString();
    }

    /** The listener accepted a client connection. */
    public void accepted() {
        accepted.increment();
    }

    /** A client connection was closed with an error of {@code kind} before its session was relayed. */
    public void refused(ErrorKind kind) {
        refused.get(kind).increment();
    }

    /** A suspended endpoint began to wake. */
    public void wakeStarted() {
        wakesStarted.increment();
    }

    /** A wake ended without a running compute (every attempt failed, or the wake timeout passed). */
    public void wakeFailed() {
        wakesFailed.increment();
    }

    /** A wake ended with a running compute after {@code took}. */
    public void wakeSucceeded(Duration took) {
        long nanos = Math.max(0, took.toNanos());
        synchronized (latencyLock) {
            maxLatencyNanos = Math.max(maxLatencyNanos, nanos);
            if (latencies < MAX_LATENCIES_PER_INTERVAL) {
                if (latencies == latencyNanos.length) {
                    latencyNanos = Arrays.copyOf(latencyNanos, Math.min(MAX_LATENCIES_PER_INTERVAL, latencies * 2));
                }
                latencyNanos[latencies++] = nanos;
            }
        }
    }

    /**
     * The interval's samples, with the two gauges the caller reads from the server; resets the
     * counters. The latency samples are absent in an interval without a successful wake (a zero
     * would pull CloudWatch's statistics down).
     */
    public List<Sample> read(int connectionsOpen, int endpointsRunning) {
        List<Sample> out = new ArrayList<>();
        out.add(new Sample(MetricNames.PROXY_CONNECTIONS_OPEN, Sample.Unit.COUNT, connectionsOpen));
        out.add(new Sample(MetricNames.PROXY_ENDPOINTS_RUNNING, Sample.Unit.COUNT, endpointsRunning));
        out.add(new Sample(MetricNames.PROXY_CONNECTIONS_ACCEPTED, Sample.Unit.COUNT, accepted.sumThenReset()));
        List<Sample> byKind = new ArrayList<>();
        long total = 0;
        for (Map.Entry<ErrorKind, LongAdder> e : refused.entrySet()) {
            long n = e.getValue().sumThenReset();
            total += n;
            byKind.add(new Sample(refusedMetric(e.getKey()), Sample.Unit.COUNT, n));
        }
        out.add(new Sample(MetricNames.PROXY_CONNECTIONS_REFUSED, Sample.Unit.COUNT, total));
        out.addAll(byKind);
        out.add(new Sample(MetricNames.PROXY_WAKES_STARTED, Sample.Unit.COUNT, wakesStarted.sumThenReset()));
        out.add(new Sample(MetricNames.PROXY_WAKES_FAILED, Sample.Unit.COUNT, wakesFailed.sumThenReset()));
        long[] sorted;
        long max;
        synchronized (latencyLock) {
            sorted = Arrays.copyOf(latencyNanos, latencies);
            max = maxLatencyNanos;
            latencies = 0;
            maxLatencyNanos = -1;
        }
        if (sorted.length > 0) {
            Arrays.sort(sorted);
            out.add(new Sample(MetricNames.PROXY_WAKE_LATENCY_P50, Sample.Unit.MILLISECONDS,
                    millis(sorted[(sorted.length - 1) / 2])));
            out.add(new Sample(MetricNames.PROXY_WAKE_LATENCY_MAX, Sample.Unit.MILLISECONDS, millis(max)));
        }
        return out;
    }

    private static double millis(long nanos) {
        return Math.round(nanos / 1_000.0) / 1_000.0; // to the microsecond
    }
}
