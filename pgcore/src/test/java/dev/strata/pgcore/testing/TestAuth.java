package dev.strata.pgcore.testing;

import com.nimbusds.jose.jwk.OctetKeyPair;
import dev.strata.pgcore.auth.AuthKeys;
import dev.strata.pgcore.auth.Claims;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.auth.TokenIssuer;
import dev.strata.pgcore.auth.TokenVerifier;
import dev.strata.pgcore.id.TimelineId;
import java.util.List;
import java.util.Optional;

/**
 * A cluster signing key for tests: what {@code strata up} makes, in memory. Tests of a
 * listener take its {@link #verifier()} for the server and {@link #token} for the client, and
 * {@link #stranger()} to forge tokens the server must refuse.
 */
public final class TestAuth {

    private final OctetKeyPair key = AuthKeys.generate();
    private final TokenIssuer issuer = new TokenIssuer(key);
    private final TokenVerifier verifier = new TokenVerifier(List.of(key.toPublicJWK()));

    public OctetKeyPair key() {
        return key;
    }

    public TokenVerifier verifier() {
        return verifier;
    }

    /** A token of {@code scope} without expiry (not {@link Scope#COMPUTE}: see {@link #computeToken}). */
    public String token(Scope scope) {
        return issuer.issue(Claims.service(scope, "test-" + scope.wireName(), Optional.empty()));
    }

    public String computeToken(TimelineId timeline) {
        return issuer.issue(Claims.compute(timeline, "test-compute", Optional.empty()));
    }

    /** Signs with another key: well formed, correctly scoped, and forged. */
    public TestAuth stranger() {
        return new TestAuth();
    }
}
