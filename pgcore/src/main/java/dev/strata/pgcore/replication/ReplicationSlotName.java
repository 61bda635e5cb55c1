package dev.strata.pgcore.replication;

import dev.strata.pgcore.id.NodeId;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A PostgreSQL replication slot name: 1-63 ({@code NAMEDATALEN - 1}) of {@code [a-z0-9_]}, the
 * rule {@code ReplicationSlotValidateName} enforces. Being that narrow, a valid name needs no
 * quoting in a replication command or SQL literal.
 *
 * <p>The slot that keeps a safekeeper's WAL on its compute is {@link #forSafekeeper}:
 * {@code strata_} and the node id with {@code -} as {@code _} (node ids are {@code [a-z0-9-]}, so
 * the mapping is one to one); an id too long for that gets a cut prefix and a hash of the whole id.
 */
public record ReplicationSlotName(String value) {

    /** PostgreSQL's NAMEDATALEN - 1. */
    public static final int MAX_LENGTH = 63;
    private static final Pattern VALID = Pattern.compile("[a-z0-9_]{1," + MAX_LENGTH + "}");
    private static final String PREFIX = "strata_";

    public ReplicationSlotName {
        Objects.requireNonNull(value, "value is null");
        if (!VALID.matcher(value).matches()) {
            throw new IllegalArgumentException("a replication slot name is 1-" + MAX_LENGTH + " of [a-z0-9_]; got '"
                    + value + "'");
        }
    }

    /** The compute's slot for the safekeeper {@code id}, e.g. {@code strata_sk_1} for {@code sk-1}. */
    public static ReplicationSlotName forSafekeeper(NodeId id) {
        String mapped = PREFIX + id.value().replace('-', '_');
        if (mapped.length() <= MAX_LENGTH) {
            return new ReplicationSlotName(mapped);
        }
        // Two long ids with the same first characters must not share a slot: the hash of the
        // whole id keeps them apart.
        String hash = sha256Hex(id.value()).substring(0, 12);
        return new ReplicationSlotName(mapped.substring(0, MAX_LENGTH - hash.length() - 1) + "_" + hash);
    }

    /** Whether this is a slot {@link #forSafekeeper} could have made (the agent manages only those). */
    public boolean isStrataSlot() {
        return value.startsWith(PREFIX);
    }

    private static String sha256Hex(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    @Override
    public String toString() {
        return value;
    }
}
