package dev.strata.pgcore.id;

import java.security.SecureRandom;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The rule the control plane's ids share ({@link ProjectId}, {@link BranchId}, {@link EndpointId}):
 * each may appear as a DNS label (an endpoint id is the first label of the TLS SNI host name),
 * so 1 to 63 characters of {@code a-z}, {@code 0-9} and {@code -}, not starting or ending with
 * {@code -}. Input is compared case-insensitively (host names are) and kept in lower case.
 */
final class DnsLabel {

    static final int MAX_LENGTH = 63;
    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Lower-case letters and digits without the look-alikes 0/o and 1/l. */
    private static final char[] ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789".toCharArray();

    private DnsLabel() {
    }

    /** Validates and lower-cases {@code value}; {@code what} names the id in the error. */
    static String check(String what, String value) {
        if (value == null) {
            throw new IllegalArgumentException("a " + what + " is required, got null");
        }
        String lower = value.toLowerCase(Locale.ROOT);
        if (!LABEL.matcher(lower).matches()) {
            throw new IllegalArgumentException("invalid " + what + " '" + printable(value)
                    + "': must be 1 to 63 characters of a-z, 0-9 and '-', not starting or ending with '-'");
        }
        return lower;
    }

    /** {@code prefix-} and 16 random characters (80 bits): collisions are not a practical concern. */
    static String random(String prefix) {
        StringBuilder sb = new StringBuilder(prefix).append('-');
        for (int i = 0; i < 16; i++) {
            sb.append(ALPHABET[RANDOM.nextInt(ALPHABET.length)]);
        }
        return sb.toString();
    }

    /** Caps what an error message repeats of untrusted input and masks control characters. */
    static String printable(String s) {
        String cut = s.length() > 70 ? s.substring(0, 70) + "..." : s;
        return cut.replaceAll("[^\\x20-\\x7e]", "?");
    }
}
