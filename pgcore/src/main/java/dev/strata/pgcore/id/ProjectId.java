package dev.strata.pgcore.id;

/**
 * A project: the unit a user creates, owning branches and endpoints (control plane metadata).
 * Follows the DNS-label rule of {@link DnsLabel}: lower case, 1 to 63 of {@code a-z 0-9 -}.
 */
public record ProjectId(String value) implements Comparable<ProjectId> {

    public ProjectId {
        value = DnsLabel.check("project id", value);
    }

    public static ProjectId of(String value) {
        return new ProjectId(value);
    }

    /** A fresh id, {@code p-} and 16 random characters. */
    public static ProjectId random() {
        return new ProjectId(DnsLabel.random("p"));
    }

    @Override
    public int compareTo(ProjectId o) {
        return value.compareTo(o.value);
    }

    @Override
    public String toString() {
        return value;
    }
}
