package dev.strata.pgcore.metrics;

import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Prints one {@link EmfDocument} line of a service's gauges at a fixed interval, for CloudWatch Logs
 * to turn into metrics. A gauge source that throws is logged and skipped for that round; the
 * reporter keeps going, so a metric can never stop the service. Off unless the service is given
 * an environment name (locally there is no CloudWatch).
 */
public final class MetricsReporter implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(MetricsReporter.class);

    private final Map<String, String> dimensions;
    private final List<List<String>> dimensionSets;
    private final Supplier<List<Sample>> gauges;
    private final PrintStream out;
    private final Clock clock;
    private final Duration interval;
    private final Thread thread;
    private volatile boolean closed;

    private MetricsReporter(Map<String, String> dimensions, Duration interval, Supplier<List<Sample>> gauges,
            PrintStream out, Clock clock) {
        this.dimensions = dimensions;
        List<String> all = List.copyOf(dimensions.keySet());
        // More than the environment (a node): each sample also rolls up to the environment alone,
        // one series over all nodes, which an alarm can watch although node ids come and go.
        this.dimensionSets = all.size() == 1 ? List.of(all) : List.of(all, List.of(MetricNames.ENVIRONMENT));
        this.interval = interval;
        this.gauges = gauges;
        this.out = out;
        this.clock = clock;
        // A platform thread: it sleeps most of the time and must not hold a virtual thread's carrier.
        this.thread = Thread.ofPlatform().daemon().name("metrics-emf").unstarted(this::run);
    }

    /**
     * Starts reporting {@code gauges} every {@code interval} to {@code out} under the dimension
     * {@code Environment=environment}.
     */
    public static MetricsReporter start(String environment, Duration interval, Supplier<List<Sample>> gauges,
            PrintStream out, Clock clock) {
        return start(environment, Map.of(), interval, gauges, out, clock);
    }

    /**
     * As {@link #start(String, Duration, Supplier, PrintStream, Clock)} with more dimensions after
     * {@code Environment} (the safekeeper's {@code Node}: an alarm that counts members must tell
     * them apart). Each sample is then published twice: under every dimension, and under
     * {@code Environment} alone (the rollup over all nodes, e.g. the largest lag of any compute).
     */
    public static MetricsReporter start(String environment, Map<String, String> more, Duration interval,
            Supplier<List<Sample>> gauges, PrintStream out, Clock clock) {
        Objects.requireNonNull(environment, "environment");
        if (environment.isBlank() || environment.length() > 1024) {
            throw new IllegalArgumentException("a metrics environment name is 1 to 1024 characters, got '" + environment + "'");
        }
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("a metrics interval must be positive, got " + interval);
        }
        Map<String, String> dimensions = new LinkedHashMap<>();
        dimensions.put(MetricNames.ENVIRONMENT, environment);
        for (Map.Entry<String, String> d : new TreeMap<>(more).entrySet()) {
            if (dimensions.put(d.getKey(), Objects.requireNonNull(d.getValue(), d.getKey())) != null) {
                throw new IllegalArgumentException("dimension " + d.getKey() + " is given twice");
            }
        }
        MetricsReporter r = new MetricsReporter(Collections.unmodifiableMap(dimensions), interval, gauges, out, clock);
        r.thread.start();
        return r;
    }

    /** One round: the document printed, or null when there was nothing to print. */
    String reportOnce() {
        String line;
        try {
            List<Sample> samples = gauges.get();
            if (samples == null || samples.isEmpty()) {
                return null;
            }
            line = EmfDocument.encode(MetricNames.NAMESPACE, dimensions, dimensionSets, samples, clock.instant());
        } catch (RuntimeException e) {
            log.warn("metrics: reading the gauges failed, skipping this round", e);
            return null;
        }
        synchronized (out) {
            out.println(line);
            out.flush();
        }
        return line;
    }

    private void run() {
        while (!closed) {
            try {
                Thread.sleep(interval);
            } catch (InterruptedException e) {
                return;
            }
            if (!closed) {
                reportOnce();
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
