package dev.strata.pgcore.metrics;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One value of one metric at one moment, as a service reports it to CloudWatch: a name from
 * {@link MetricNames}, a CloudWatch unit and the value.
 */
public record Sample(String name, Unit unit, double value) {

    private static final Pattern NAME = Pattern.compile("[A-Za-z][A-Za-z0-9]{0,254}");

    /** The CloudWatch units Strata uses (their wire names are CloudWatch's). */
    public enum Unit {
        BYTES("Bytes"), COUNT("Count"), SECONDS("Seconds"), MILLISECONDS("Milliseconds");

        private final String wireName;

        Unit(String wireName) {
            this.wireName = wireName;
        }

        public String wireName() {
            return wireName;
        }
    }

    public Sample {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(unit, "unit");
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("a metric name is a letter then letters or digits (at most 255), got '" + name + "'");
        }
        if (!Double.isFinite(value)) {
            throw new IllegalArgumentException("metric " + name + " must be a finite number, got " + value);
        }
    }
}
