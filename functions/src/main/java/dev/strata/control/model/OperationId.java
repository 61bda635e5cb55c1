package dev.strata.control.model;

import java.security.SecureRandom;
import java.util.regex.Pattern;

/**
 * Identifies an operation, {@code op-} and 16 random characters; also the name of its workflow
 * execution (Step Functions execution names allow these characters).
 */
public record OperationId(String value) implements Comparable<OperationId> {

    private static final Pattern VALID = Pattern.compile("op-[a-z0-9]{1,60}");
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final char[] ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789".toCharArray();

    public OperationId {
        if (value == null || !VALID.matcher(value).matches()) {
            String shown = value == null ? "null" : value.length() > 70 ? value.substring(0, 70) + "..." : value;
            throw new IllegalArgumentException("invalid operation id '" + shown.replaceAll("[^\\x20-\\x7e]", "?")
                    + "': must be 'op-' and 1 to 60 of a-z, 0-9");
        }
    }

    public static OperationId of(String value) {
        return new OperationId(value);
    }

    public static OperationId random() {
        StringBuilder sb = new StringBuilder("op-");
        for (int i = 0; i < 16; i++) {
            sb.append(ALPHABET[RANDOM.nextInt(ALPHABET.length)]);
        }
        return new OperationId(sb.toString());
    }

    @Override
    public int compareTo(OperationId o) {
        return value.compareTo(o.value);
    }

    @Override
    public String toString() {
        return value;
    }
}
