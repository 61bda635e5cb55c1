package dev.strata.pgcore.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.Ed25519Verifier;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.SignedJWT;
import dev.strata.pgcore.auth.AuthException.Reason;
import dev.strata.pgcore.id.TimelineId;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Checks service tokens: compact JWS, signed with EdDSA (Ed25519) by one of the trusted
 * keys, not expired, with a scope the listener accepts. Thread-safe; one per listener or
 * shared by all listeners of a process.
 *
 * <p>Every refusal is an {@link AuthException} whose message can go back to the caller.
 * Nothing is trusted from the token before its signature verified: the key id in the header
 * only picks which key to try.
 */
public final class TokenVerifier {

    /** Longer tokens are refused before parsing; ours are about 300 characters. */
    public static final int MAX_TOKEN_CHARS = 4096;
    /** Tolerated clock difference between the issuer and this process. */
    static final Duration CLOCK_SKEW = Duration.ofSeconds(30);

    private final List<Ed25519Verifier> verifiers;
    private final List<String> keyIds;
    private final Clock clock;

    public TokenVerifier(List<OctetKeyPair> trustedKeys, Clock clock) {
        if (trustedKeys.isEmpty()) {
            throw new IllegalArgumentException("a verifier needs at least one public key");
        }
        this.verifiers = new ArrayList<>();
        this.keyIds = new ArrayList<>();
        for (OctetKeyPair key : trustedKeys) {
            try {
                verifiers.add(new Ed25519Verifier(key.toPublicJWK()));
            } catch (JOSEException e) {
                throw new IllegalArgumentException("not an Ed25519 public key: " + e.getMessage(), e);
            }
            keyIds.add(key.getKeyID());
        }
        this.clock = clock;
    }

    public TokenVerifier(List<OctetKeyPair> trustedKeys) {
        this(trustedKeys, Clock.systemUTC());
    }

    /** Verifies the token and checks its scope is one of {@code accepted}. */
    public Claims authorize(String token, Set<Scope> accepted) throws AuthException {
        Claims claims = verify(token);
        if (!accepted.contains(claims.scope())) {
            throw new AuthException(Reason.WRONG_SCOPE, "a token of scope '" + claims.scope().wireName()
                    + "' is not accepted here; this endpoint takes " + names(accepted));
        }
        return claims;
    }

    /**
     * As {@link #authorize}, for a request about one timeline: a {@link Scope#COMPUTE} token
     * (if accepted at all) must name that timeline.
     */
    public Claims authorizeTimeline(String token, Set<Scope> accepted, TimelineId timeline) throws AuthException {
        Claims claims = authorize(token, accepted);
        if (claims.timeline().isPresent() && !claims.timeline().get().equals(timeline)) {
            throw new AuthException(Reason.WRONG_TIMELINE, "this token is for timeline " + claims.timeline().get()
                    + ", not " + timeline);
        }
        return claims;
    }

    /** Verifies signature and validity; says nothing about scope. */
    public Claims verify(String token) throws AuthException {
        if (token == null || token.isBlank()) {
            throw new AuthException(Reason.MISSING, "authentication required: no token given");
        }
        if (token.length() > MAX_TOKEN_CHARS) {
            throw new AuthException(Reason.MALFORMED, "token longer than " + MAX_TOKEN_CHARS + " characters");
        }
        SignedJWT jwt = parseSigned(token);
        JWSHeader header = jwt.getHeader();
        JWSAlgorithm alg = header.getAlgorithm();
        if (!JWSAlgorithm.EdDSA.equals(alg) && !JWSAlgorithm.Ed25519.equals(alg)) {
            throw new AuthException(Reason.UNSUPPORTED_ALGORITHM,
                    "token signed with " + alg + "; only EdDSA (Ed25519) is accepted");
        }
        if (!signatureVerifies(jwt, header.getKeyID())) {
            throw new AuthException(Reason.BAD_SIGNATURE, "token signature does not verify under this cluster's keys");
        }
        JWTClaimsSet set;
        try {
            set = jwt.getJWTClaimsSet();
        } catch (ParseException e) {
            throw new AuthException(Reason.MALFORMED, "token claims are not a JSON object");
        }
        return claimsOf(set);
    }

    private static SignedJWT parseSigned(String token) throws AuthException {
        JWT parsed;
        try {
            parsed = JWTParser.parse(token);
        } catch (ParseException | RuntimeException e) {
            throw new AuthException(Reason.MALFORMED, "not a JSON Web Token");
        }
        if (parsed instanceof SignedJWT signed) {
            return signed;
        }
        throw new AuthException(Reason.UNSUPPORTED_ALGORITHM, "unsigned or encrypted tokens are not accepted");
    }

    private boolean signatureVerifies(SignedJWT jwt, String keyId) {
        for (int i = 0; i < verifiers.size(); i++) {
            if (keyId != null && keyIds.get(i) != null && !keyId.equals(keyIds.get(i))) {
                continue;
            }
            try {
                if (jwt.verify(verifiers.get(i))) {
                    return true;
                }
            } catch (JOSEException | RuntimeException e) {
                // a malformed signature is simply one that does not verify
            }
        }
        return false;
    }

    private Claims claimsOf(JWTClaimsSet set) throws AuthException {
        Instant now = clock.instant();
        Date exp = set.getExpirationTime();
        if (exp != null && now.isAfter(exp.toInstant().plus(CLOCK_SKEW))) {
            throw new AuthException(Reason.EXPIRED, "token expired at " + exp.toInstant());
        }
        Date nbf = set.getNotBeforeTime();
        if (nbf != null && now.isBefore(nbf.toInstant().minus(CLOCK_SKEW))) {
            throw new AuthException(Reason.EXPIRED, "token not valid before " + nbf.toInstant());
        }
        Scope scope = Scope.fromWireName(stringClaim(set, "scope", true));
        String subject = Optional.ofNullable(set.getSubject()).orElse("");
        String timelineClaim = stringClaim(set, TokenIssuer.TIMELINE_CLAIM, false);
        Optional<TimelineId> timeline = Optional.empty();
        if (timelineClaim != null) {
            try {
                timeline = Optional.of(TimelineId.parse(timelineClaim));
            } catch (IllegalArgumentException e) {
                throw new AuthException(Reason.MALFORMED, "token claim timeline_id is not a timeline id");
            }
        }
        try {
            return new Claims(scope, subject, timeline, Optional.ofNullable(exp).map(Date::toInstant));
        } catch (IllegalArgumentException e) {
            throw new AuthException(Reason.MALFORMED, "token claims do not fit its scope: " + e.getMessage());
        }
    }

    private static String stringClaim(JWTClaimsSet set, String name, boolean required) throws AuthException {
        String value;
        try {
            value = set.getStringClaim(name);
        } catch (ParseException e) {
            throw new AuthException(Reason.MALFORMED, "token claim " + name + " is not a string");
        }
        if (value == null && required) {
            throw new AuthException(Reason.MALFORMED, "token has no " + name + " claim");
        }
        return value;
    }

    private static String names(Set<Scope> scopes) {
        return scopes.stream().map(s -> "'" + s.wireName() + "'").sorted().collect(Collectors.joining(", "));
    }
}
