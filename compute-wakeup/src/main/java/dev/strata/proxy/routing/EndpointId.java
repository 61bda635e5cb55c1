package dev.strata.proxy.routing;

import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The name of an endpoint (one compute a client connects to), as it appears as the first
 * label of a TLS SNI host name or in {@code options=endpoint=<id>}: a DNS label, so 1 to 63
 * characters of {@code a-z}, {@code 0-9} and {@code -}, not starting or ending with
 * {@code -}. Compared case-insensitively (host names are) and kept in lower case.
 */
public record EndpointId(String value) implements Comparable<EndpointId> {

    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

    public EndpointId {
        Objects.requireNonNull(value, "value is null");
        value = value.toLowerCase(Locale.ROOT);
        if (!LABEL.matcher(value).matches()) {
            throw new IllegalArgumentException("invalid endpoint id '" + printable(value)
                    + "': must be 1 to 63 characters of a-z, 0-9 and '-', not starting or ending with '-'");
        }
    }

    public static EndpointId of(String value) {
        return new EndpointId(value);
    }

    /** Caps what an error message repeats of untrusted input. */
    static String printable(String s) {
        String cut = s.length() > 70 ? s.substring(0, 70) + "..." : s;
        return cut.replaceAll("[^\\x20-\\x7e]", "?");
    }

    @Override
    public int compareTo(EndpointId o) {
        return value.compareTo(o.value);
    }

    @Override
    public String toString() {
        return value;
    }
}
