package dev.strata.pgcore.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.gen.OctetKeyPairGenerator;
import dev.strata.pgcore.fs.CrashSafe;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * The files that hold the cluster's signing key, the public keys listeners trust, and the
 * tokens components present. Formats: the private key is one JWK (RFC 8037 OKP, Ed25519);
 * the public keys are a JWK Set, so a second key can be added before the first is retired;
 * a token file holds one compact JWS.
 *
 * <p>Secrets (the private key, every token) are written {@code rw-------} from their first
 * byte, and a secret file that other users could read is refused on load, as ssh refuses a
 * private key with loose permissions: a leaked token is as good as the key for its scope.
 */
public final class AuthKeys {

    public static final Set<PosixFilePermission> SECRET_FILE = PosixFilePermissions.fromString("rw-------");

    private static final Set<PosixFilePermission> OTHERS = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE);

    private AuthKeys() {
    }

    /** A new Ed25519 key pair with a random key id. */
    public static OctetKeyPair generate() {
        try {
            return new OctetKeyPairGenerator(Curve.Ed25519).keyID(UUID.randomUUID().toString()).generate();
        } catch (JOSEException e) {
            throw new IllegalStateException("Ed25519 key generation failed", e);
        }
    }

    /** Writes the private key (JWK) durably, mode 0600. */
    public static void writePrivateKey(Path file, OctetKeyPair key) throws IOException {
        if (!key.isPrivate()) {
            throw new IllegalArgumentException("not a private key");
        }
        CrashSafe.writeAtomically(file, key.toJSONString().getBytes(StandardCharsets.UTF_8), SECRET_FILE);
    }

    /** Reads a private key written by {@link #writePrivateKey}; refuses a file others can read. */
    public static OctetKeyPair readPrivateKey(Path file) throws IOException {
        requireSecret(file);
        try {
            JWK jwk = JWK.parse(Files.readString(file, StandardCharsets.UTF_8));
            if (jwk instanceof OctetKeyPair okp && okp.isPrivate() && Curve.Ed25519.equals(okp.getCurve())) {
                return okp;
            }
        } catch (ParseException e) {
            throw new IOException(file + " is not a JWK: " + e.getMessage(), e);
        }
        throw new IOException(file + " does not hold an Ed25519 private key");
    }

    /** Writes the public halves of {@code keys} as a JWK Set (durably; public, but kept 0600 too). */
    public static void writePublicKeys(Path file, List<OctetKeyPair> keys) throws IOException {
        CrashSafe.writeAtomically(file, publicKeySet(keys).getBytes(StandardCharsets.UTF_8), SECRET_FILE);
    }

    /** The public halves of {@code keys} as a JWK Set's JSON: what a listener's key file (or secret) holds. */
    public static String publicKeySet(List<OctetKeyPair> keys) {
        List<JWK> pub = new ArrayList<>();
        for (OctetKeyPair k : keys) {
            pub.add(k.toPublicJWK());
        }
        return new JWKSet(pub).toString(true);
    }

    /** Reads the Ed25519 public keys of a JWK Set; a set with none is an error. */
    public static List<OctetKeyPair> readPublicKeys(Path file) throws IOException {
        JWKSet set;
        try {
            set = JWKSet.parse(Files.readString(file, StandardCharsets.UTF_8));
        } catch (ParseException e) {
            throw new IOException(file + " is not a JWK Set: " + e.getMessage(), e);
        }
        List<OctetKeyPair> keys = new ArrayList<>();
        for (JWK jwk : set.getKeys()) {
            if (jwk instanceof OctetKeyPair okp && Curve.Ed25519.equals(okp.getCurve())) {
                keys.add(okp.toPublicJWK());
            }
        }
        if (keys.isEmpty()) {
            throw new IOException(file + " holds no Ed25519 public key");
        }
        return keys;
    }

    /** Writes one token, mode 0600. */
    public static void writeToken(Path file, String token) throws IOException {
        CrashSafe.writeAtomically(file, (token + "\n").getBytes(StandardCharsets.US_ASCII), SECRET_FILE);
    }

    /** Reads a token file; refuses one that others can read. */
    public static String readToken(Path file) throws IOException {
        requireSecret(file);
        String token = Files.readString(file, StandardCharsets.US_ASCII).strip();
        if (token.isEmpty() || token.length() > TokenVerifier.MAX_TOKEN_CHARS) {
            throw new IOException(file + " does not hold a token");
        }
        return token;
    }

    private static void requireSecret(Path file) throws IOException {
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
        if (perms.stream().anyMatch(OTHERS::contains)) {
            throw new IOException(file + " is accessible to other users (" + PosixFilePermissions.toString(perms)
                    + "); it holds a secret: chmod 600 it");
        }
    }
}
