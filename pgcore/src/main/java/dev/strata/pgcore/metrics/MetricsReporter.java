package dev.strata.pgcore.metrics;

import java.io.PrintStream;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
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

    private final String environment;
    private final Supplier<List<Sample>> gauges;
    private final PrintStream out;
    private final Clock clock;
    private final Duration interval;
    private final Thread thread;
    private volatile boolean closed;

    private MetricsReporter(String environment, Duration interval, Supplier<List<Sample>> gauges, PrintStream out,
            Clock clock) {
        this.environment = environment;
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
        Objects.requireNonNull(environment, "environment");
        if (environment.isBlank() || environment.length() > 1024) {
            throw new IllegalArgumentException("a metrics environment name is 1 to 1024 characters, got '" + environment + "'");
        }
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("a metrics interval must be positive, got " + interval);
        }
        MetricsReporter r = new MetricsReporter(environment, interval, gauges, out, clock);
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
            line = EmfDocument.encode(MetricNames.NAMESPACE, Map.of(MetricNames.ENVIRONMENT, environment), samples,
                    clock.instant());
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
