package dev.strata.pgcore.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.Ed25519Signer;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.time.Clock;
import java.util.Date;

/**
 * Signs service tokens with the cluster's private key. Only whoever hands out credentials
 * holds one: {@code strata up} locally, the control plane on AWS. Components get tokens,
 * never the private key.
 */
public final class TokenIssuer {

    /** The claim naming a compute token's timeline. */
    public static final String TIMELINE_CLAIM = "timeline_id";

    private final OctetKeyPair key;
    private final Ed25519Signer signer;
    private final Clock clock;

    public TokenIssuer(OctetKeyPair privateKey, Clock clock) {
        if (!privateKey.isPrivate()) {
            throw new IllegalArgumentException("issuing tokens needs the private key, got a public one");
        }
        this.key = privateKey;
        try {
            this.signer = new Ed25519Signer(privateKey);
        } catch (JOSEException e) {
            throw new IllegalArgumentException("not an Ed25519 private key: " + e.getMessage(), e);
        }
        this.clock = clock;
    }

    public TokenIssuer(OctetKeyPair privateKey) {
        this(privateKey, Clock.systemUTC());
    }

    /** A compact JWS carrying the claims, signed now. */
    public String issue(Claims claims) {
        JWTClaimsSet.Builder set = new JWTClaimsSet.Builder()
                .claim("scope", claims.scope().wireName())
                .subject(claims.subject())
                .issueTime(Date.from(clock.instant()));
        claims.timeline().ifPresent(t -> set.claim(TIMELINE_CLAIM, t.toString()));
        claims.expiresAt().ifPresent(e -> set.expirationTime(Date.from(e)));
        JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.EdDSA)
                .type(JOSEObjectType.JWT)
                .keyID(key.getKeyID())
                .build();
        SignedJWT jwt = new SignedJWT(header, set.build());
        try {
            jwt.sign(signer);
        } catch (JOSEException e) {
            throw new IllegalStateException("signing a token failed", e);
        }
        return jwt.serialize();
    }
}
