package dev.strata.control.aws;

import com.nimbusds.jose.jwk.OctetKeyPair;
import dev.strata.pgcore.auth.TokenIssuer;
import java.text.ParseException;

/** The control plane's token issuer from the signing-key secret (an Ed25519 private JWK, decision 0015). */
final class SigningKey {

    private SigningKey() {
    }

    /** The issuer of {@code jwk}, the value of secret {@code arn}. */
    static TokenIssuer issuer(String jwk, String arn) {
        try {
            return new TokenIssuer(OctetKeyPair.parse(jwk));
        } catch (ParseException | IllegalArgumentException e) {
            // Never echo the secret's content, not even a part of it.
            throw new IllegalStateException("secret " + arn + " (" + AwsSettings.SIGNING_KEY_SECRET
                    + ") is not an Ed25519 private JWK (still the deploy's placeholder? docs/aws.md, \"First "
                    + "connection\"): " + e.getClass().getSimpleName(), e);
        }
    }
}
