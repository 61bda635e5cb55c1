package dev.strata.control.model;

import java.util.Objects;

/**
 * Checks for the free-text attributes users and services hand the control plane (names,
 * addresses, errors): bounded length, no control characters. Ids have their own value types.
 */
public final class Names {

    /** A project or branch name: what a user types, shown in listings. */
    public static final int MAX_NAME_LENGTH = 256;
    /** A host:port or URL of a compute agent or storage node. */
    public static final int MAX_ADDRESS_LENGTH = 300;
    /** A workflow execution ARN (AWS allows up to 2048). */
    public static final int MAX_ARN_LENGTH = 2048;
    /** An operation's error as recorded; longer errors are cut, not refused (see {@link #cut}). */
    public static final int MAX_ERROR_LENGTH = 4096;

    private Names() {
    }

    /** {@code value}, if it is 1 to {@code max} characters without control characters. */
    public static String check(String what, String value, int max) {
        Objects.requireNonNull(value, () -> what + " is null");
        if (value.isEmpty() || value.length() > max) {
            throw new IllegalArgumentException(what + " must be 1 to " + max + " characters, got " + value.length());
        }
        for (int i = 0; i < value.length(); i++) {
            if (Character.isISOControl(value.charAt(i))) {
                throw new IllegalArgumentException(what + " contains a control character at index " + i);
            }
        }
        return value;
    }

    /** An error text cut to {@link #MAX_ERROR_LENGTH}: an error is recorded whatever its size. */
    public static String cut(String error) {
        Objects.requireNonNull(error, "error is null");
        return error.length() <= MAX_ERROR_LENGTH ? error : error.substring(0, MAX_ERROR_LENGTH - 3) + "...";
    }

    static long checkVersion(long version) {
        if (version < 0) {
            throw new IllegalArgumentException("version must be >= 0, got " + version);
        }
        return version;
    }
}
