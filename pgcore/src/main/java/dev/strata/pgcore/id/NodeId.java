package dev.strata.pgcore.id;

import java.util.regex.Pattern;

/**
 * The name of a storage node, e.g. {@code sk-1}. A safekeeper's id is also the
 * {@code application_name} it uses as a replication client of a compute, so it must be a
 * valid standby name in {@code synchronous_standby_names}: lowercase letters, digits, '-'.
 */
public record NodeId(String value) implements Comparable<NodeId> {

    private static final Pattern VALID = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");

    public NodeId {
        if (value == null || !VALID.matcher(value).matches()) {
            throw new IllegalArgumentException("a node id is 1-63 of [a-z0-9-], starting with a letter or digit; got '" + value + "'");
        }
    }

    public static NodeId of(String value) {
        return new NodeId(value);
    }

    @Override
    public int compareTo(NodeId o) {
        return value.compareTo(o.value);
    }

    @Override
    public String toString() {
        return value;
    }
}
