package dev.strata.control.keys;

import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetKeyPair;
import dev.strata.pgcore.auth.AuthException;
import dev.strata.pgcore.auth.AuthKeys;
import dev.strata.pgcore.auth.Claims;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.auth.TokenIssuer;
import dev.strata.pgcore.auth.TokenVerifier;
import java.text.ParseException;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;

/**
 * Issues the deployment's service keys into its secrets (decision 0015 on AWS): the Ed25519 key
 * that signs every service token, the JWK Set every internal listener trusts, and the
 * {@code safekeeperdata} token the safekeepers present to their peers. The stack creates the
 * secrets with random placeholders; this replaces each one that is not yet what it must be, and
 * leaves the rest alone:
 * <ul>
 *   <li>a signing-key secret that already holds an Ed25519 private JWK is kept (a stack update never
 *       rotates the key behind the services' back); anything else is replaced by a new key;</li>
 *   <li>a public-key set that already holds the key's public half is kept (it may hold a second
 *       key during a rotation); otherwise it becomes the set of that one key;</li>
 *   <li>a token that the key verifies with scope {@code safekeeperdata} is kept; otherwise a new one
 *       (no expiry: the safekeepers read it at start) is written.</li>
 * </ul>
 * Written in that order, so a run that stops half-way is completed by the next one. No secret value
 * is ever logged or put in a message.
 */
public final class ServiceKeys {

    private static final Logger log = LoggerFactory.getLogger(ServiceKeys.class);
    /** The subject of the safekeepers' shared token. */
    static final String SAFEKEEPER_SUBJECT = "safekeeper";

    /** The ARNs of the three secrets. */
    public record Secrets(String signingKey, String publicKeys, String safekeeperToken) {
        public Secrets {
            Objects.requireNonNull(signingKey, "signingKey is null");
            Objects.requireNonNull(publicKeys, "publicKeys is null");
            Objects.requireNonNull(safekeeperToken, "safekeeperToken is null");
        }
    }

    /** What a run did: the signing key's id, and which secrets it wrote. */
    public record Issued(String keyId, boolean keyWritten, boolean publicKeysWritten, boolean tokenWritten) {
    }

    private final SecretsManagerClient secrets;

    public ServiceKeys(SecretsManagerClient secrets) {
        this.secrets = Objects.requireNonNull(secrets, "secrets is null");
    }

    /** Makes the three secrets hold a consistent key, key set and token; idempotent. */
    public Issued ensure(Secrets arns) {
        OctetKeyPair key = privateKey(read(arns.signingKey())).orElse(null);
        boolean keyWritten = key == null;
        if (keyWritten) {
            key = AuthKeys.generate();
            write(arns.signingKey(), key.toJSONString());
            log.info("service keys: new signing key {} written to {}", key.getKeyID(), arns.signingKey());
        }
        boolean publicWritten = !holdsPublicHalf(read(arns.publicKeys()), key);
        if (publicWritten) {
            write(arns.publicKeys(), AuthKeys.publicKeySet(List.of(key)));
            log.info("service keys: public key set of {} written to {}", key.getKeyID(), arns.publicKeys());
        }
        boolean tokenWritten = !verifies(read(arns.safekeeperToken()), key);
        if (tokenWritten) {
            write(arns.safekeeperToken(), new TokenIssuer(key).issue(Claims.service(Scope.SAFEKEEPER_DATA,
                    SAFEKEEPER_SUBJECT, Optional.empty())));
            log.info("service keys: safekeeperdata token signed by {} written to {}", key.getKeyID(),
                    arns.safekeeperToken());
        }
        return new Issued(key.getKeyID(), keyWritten, publicWritten, tokenWritten);
    }

    /** The value's Ed25519 private key, or empty (a placeholder, or anything else). */
    static Optional<OctetKeyPair> privateKey(String value) {
        try {
            OctetKeyPair k = OctetKeyPair.parse(value);
            return k.isPrivate() && Curve.Ed25519.equals(k.getCurve()) && k.getKeyID() != null ? Optional.of(k)
                    : Optional.empty();
        } catch (ParseException | RuntimeException notAKey) {
            return Optional.empty();
        }
    }

    private static boolean holdsPublicHalf(String value, OctetKeyPair key) {
        try {
            for (JWK jwk : JWKSet.parse(value).getKeys()) {
                if (jwk instanceof OctetKeyPair k && !k.isPrivate() && k.toPublicJWK().equals(key.toPublicJWK())) {
                    return true;
                }
            }
            return false;
        } catch (ParseException | RuntimeException notASet) {
            return false;
        }
    }

    private static boolean verifies(String token, OctetKeyPair key) {
        try {
            return new TokenVerifier(List.of(key.toPublicJWK())).verify(token).scope() == Scope.SAFEKEEPER_DATA;
        } catch (AuthException | RuntimeException notOurs) {
            return false;
        }
    }

    private String read(String arn) {
        String v = secrets.getSecretValue(b -> b.secretId(arn)).secretString();
        return v == null ? "" : v;
    }

    private void write(String arn, String value) {
        secrets.putSecretValue(b -> b.secretId(arn).secretString(value));
    }
}
