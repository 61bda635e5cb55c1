package dev.strata.pgcore.id;

/**
 * An endpoint: the name a client connects to (first label of the TLS SNI host name or
 * {@code options=endpoint=<id>}), backed by at most one running compute for one branch.
 * Follows the DNS-label rule of {@link DnsLabel}: lower case, 1 to 63 of {@code a-z 0-9 -}.
 */
public record EndpointId(String value) implements Comparable<EndpointId> {

    public EndpointId {
        value = DnsLabel.check("endpoint id", value);
    }

    public static EndpointId of(String value) {
        return new EndpointId(value);
    }

    /** A fresh id, {@code ep-} and 16 random characters. */
    public static EndpointId random() {
        return new EndpointId(DnsLabel.random("ep"));
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
