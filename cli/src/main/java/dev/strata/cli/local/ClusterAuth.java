package dev.strata.cli.local;

import com.nimbusds.jose.jwk.OctetKeyPair;
import dev.strata.pgcore.auth.AuthKeys;
import dev.strata.pgcore.auth.Claims;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.auth.TokenIssuer;
import dev.strata.pgcore.auth.TokenVerifier;
import dev.strata.pgcore.id.TimelineId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The local cluster's credentials for its internal listeners (docs/architecture.md §8):
 * one Ed25519 signing key made at the first {@code strata up} and kept in {@code auth/}
 * (mode 600, the directory 700), the public key set every listener trusts, and one token per
 * component, each with the one scope that component needs. Components get a token file and
 * the public key file through their configuration (paths on a command line, never the
 * secrets); in the AWS layout the control plane plays this role with the key in Secrets
 * Manager.
 *
 * <p>Service tokens carry no expiry: they are revoked by replacing the key (delete
 * {@code auth/} while the cluster is down; the next {@code up} makes a new key and tokens).
 * Compute tokens name the one timeline their compute may read.
 */
public final class ClusterAuth {

    static final String SIGNING_KEY = "signing_key.jwk";
    static final String PUBLIC_KEYS = "public_keys.jwks";
    static final String ADMIN = "admin";

    private final Path dir;
    private final TokenIssuer issuer;
    private final TokenVerifier verifier;

    private ClusterAuth(Path dir, TokenIssuer issuer, TokenVerifier verifier) {
        this.dir = dir;
        this.issuer = issuer;
        this.verifier = verifier;
    }

    /** Loads the cluster's key from {@code dir}, or makes one there at the first start. */
    public static ClusterAuth loadOrCreate(Path dir) {
        try {
            PrivateFiles.createPrivateDirectory(dir);
            Path keyFile = dir.resolve(SIGNING_KEY);
            Path publicFile = dir.resolve(PUBLIC_KEYS);
            OctetKeyPair key;
            if (Files.exists(keyFile)) {
                key = AuthKeys.readPrivateKey(keyFile);
            } else {
                key = AuthKeys.generate();
                AuthKeys.writePrivateKey(keyFile, key);
            }
            if (!Files.exists(publicFile)) {
                AuthKeys.writePublicKeys(publicFile, List.of(key));
            }
            TokenVerifier verifier = new TokenVerifier(AuthKeys.readPublicKeys(publicFile));
            return new ClusterAuth(dir, new TokenIssuer(key), verifier);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load or create the cluster's auth key in " + dir + ": "
                    + e.getMessage(), e);
        }
    }

    /** What every listener of this cluster checks tokens with. */
    public TokenVerifier verifier() {
        return verifier;
    }

    /** The public key set (for a listener in a child process). */
    public Path publicKeysFile() {
        return dir.resolve(PUBLIC_KEYS);
    }

    /** What signs this cluster's tokens (for a control plane that issues its own, as on AWS). */
    TokenIssuer issuer() {
        return issuer;
    }

    /** A token of {@code scope} for {@code subject} (a component name), without expiry. */
    public String token(Scope scope, String subject) {
        return issuer.issue(Claims.service(scope, subject, Optional.empty()));
    }

    /** A token for the compute of {@code timeline}: it can read that timeline's pages and nothing else. */
    public String computeToken(TimelineId timeline, String subject) {
        return issuer.issue(Claims.compute(timeline, subject, Optional.empty()));
    }

    /**
     * Writes a fresh token of {@code scope} to {@code auth/<subject>.token} (mode 600) and
     * returns the file, for a component in a child process.
     */
    public Path tokenFile(Scope scope, String subject) {
        Path file = dir.resolve(subject + ".token");
        try {
            AuthKeys.writeToken(file, token(scope, subject));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
        return file;
    }

    /** Where the operator's token lies, which `strata status` and `strata down` present to the admin port. */
    public static Path adminTokenFile(Path authDir) {
        return authDir.resolve(ADMIN + ".token");
    }

    /** Writes a fresh operator token (scope admin) to {@link #adminTokenFile}. */
    public Path writeAdminToken() {
        return tokenFile(Scope.ADMIN, ADMIN);
    }
}
