package dev.strata.pgcore.protocol.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/**
 * PostgreSQL's MD5 password answer: {@code "md5" + hex(md5(hex(md5(password + user)) + salt))}.
 * The inner hash is what {@code pg_authid} stores for an MD5 password, so a server can check
 * an answer from the stored value alone ({@link #answerFromStored}).
 */
public final class Md5Password {

    private Md5Password() {
    }

    /** What the client sends in its PasswordMessage for this user, password and 4-byte salt. */
    public static String answer(String user, String password, byte[] salt) {
        Objects.requireNonNull(user, "user is null");
        Objects.requireNonNull(password, "password is null");
        return answerFromStored(stored(user, password), salt);
    }

    /** {@code pg_authid.rolpassword} for an MD5 password: {@code "md5" + hex(md5(password + user))}. */
    public static String stored(String user, String password) {
        return "md5" + md5Hex((password + user).getBytes(StandardCharsets.UTF_8));
    }

    /** The answer a client holding {@code stored} must give for {@code salt}. */
    public static String answerFromStored(String stored, byte[] salt) {
        if (stored == null || !stored.startsWith("md5") || stored.length() != 35) {
            throw new IllegalArgumentException("not an MD5 password hash");
        }
        if (salt == null || salt.length != 4) {
            throw new IllegalArgumentException("MD5 salt must be 4 bytes");
        }
        byte[] inner = stored.substring(3).getBytes(StandardCharsets.US_ASCII);
        byte[] salted = new byte[inner.length + 4];
        System.arraycopy(inner, 0, salted, 0, inner.length);
        System.arraycopy(salt, 0, salted, inner.length, 4);
        return "md5" + md5Hex(salted);
    }

    private static String md5Hex(byte[] input) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(input));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has MD5", e);
        }
    }
}
