package dev.strata.pgcore.protocol.auth;

import dev.strata.pgcore.protocol.ProtocolException;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.text.Normalizer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The SCRAM-SHA-256 primitives (RFC 5802, RFC 7677) shared by the client and server
 * sides: Hi, HMAC, H, attribute parsing, and PostgreSQL's password normalization.
 */
final class Scram {

    /** SQLSTATE {@code invalid_authorization_specification}. */
    static final String AUTH_FAILED = "28000";

    private Scram() {
    }

    static byte[] hmac(byte[] key, byte[] data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every JDK has HmacSHA256", e);
        }
    }

    static byte[] hmac(byte[] key, String data) {
        return hmac(key, data.getBytes(StandardCharsets.UTF_8));
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /** Hi(password, salt, i): PBKDF2 with HMAC-SHA-256 and one block. */
    static byte[] hi(byte[] password, byte[] salt, int iterations) {
        byte[] block = new byte[salt.length + 4];
        System.arraycopy(salt, 0, block, 0, salt.length);
        block[block.length - 1] = 1;
        byte[] u = hmac(password, block);
        byte[] result = u.clone();
        for (int i = 1; i < iterations; i++) {
            u = hmac(password, u);
            for (int j = 0; j < result.length; j++) {
                result[j] ^= u[j];
            }
        }
        return result;
    }

    static byte[] xor(byte[] a, byte[] b) {
        byte[] r = new byte[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = (byte) (a[i] ^ b[i]);
        }
        return r;
    }

    /**
     * SASLprep as PostgreSQL applies it, approximated: ASCII passwords unchanged, others
     * NFKC-normalized with non-ASCII spaces mapped to a space and soft hyphens and
     * zero-width characters dropped. (PostgreSQL falls back to the raw bytes when SASLprep
     * rejects a password; for such passwords this may differ.)
     */
    static byte[] normalize(String password) {
        boolean ascii = password.chars().allMatch(c -> c < 0x80);
        if (ascii) {
            return password.getBytes(StandardCharsets.UTF_8);
        }
        StringBuilder mapped = new StringBuilder();
        password.codePoints().forEach(cp -> {
            if (Character.isSpaceChar(cp) && cp >= 0x80) {
                mapped.append(' ');
            } else if (cp != 0x00AD && cp != 0x200B && cp != 0x2060 && cp != 0xFEFF && cp != 0x034F) {
                mapped.appendCodePoint(cp);
            }
        });
        return Normalizer.normalize(mapped, Normalizer.Form.NFKC).getBytes(StandardCharsets.UTF_8);
    }

    /** Parses {@code a=value,b=value}; the order is kept, values may contain '='. */
    static Map<Character, String> attributes(String message, String what) {
        Map<Character, String> attrs = new LinkedHashMap<>();
        for (String part : message.split(",", -1)) {
            if (part.length() < 2 || part.charAt(1) != '=') {
                throw new ProtocolException("malformed SCRAM " + what + ": attribute '" + part + "'");
            }
            attrs.putIfAbsent(part.charAt(0), part.substring(2));
        }
        return attrs;
    }

    static String require(Map<Character, String> attrs, char name, String what) {
        String v = attrs.get(name);
        if (v == null) {
            throw new ProtocolException("malformed SCRAM " + what + ": missing attribute " + name);
        }
        return v;
    }

    /** RFC 5802 saslname escaping of a user name. */
    static String escapeName(String name) {
        return name.replace("=", "=3D").replace(",", "=2C");
    }
}
