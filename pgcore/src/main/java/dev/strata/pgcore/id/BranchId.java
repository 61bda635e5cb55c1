package dev.strata.pgcore.id;

/**
 * A branch of a project; it points at a timeline. Its user-facing name is a separate attribute.
 * Follows the DNS-label rule of {@link DnsLabel}: lower case, 1 to 63 of {@code a-z 0-9 -}.
 */
public record BranchId(String value) implements Comparable<BranchId> {

    public BranchId {
        value = DnsLabel.check("branch id", value);
    }

    public static BranchId of(String value) {
        return new BranchId(value);
    }

    /** A fresh id, {@code br-} and 16 random characters. */
    public static BranchId random() {
        return new BranchId(DnsLabel.random("br"));
    }

    @Override
    public int compareTo(BranchId o) {
        return value.compareTo(o.value);
    }

    @Override
    public String toString() {
        return value;
    }
}
