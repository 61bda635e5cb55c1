package dev.strata.pgcore.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import dev.strata.pgcore.auth.AuthException.Reason;
import dev.strata.pgcore.id.TimelineId;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Good tokens pass; malformed, expired, forged and wrongly scoped ones are refused with their reason. */
class TokenVerifierTest {

    private static final Instant NOW = Instant.parse("2026-12-05T12:00:00Z");
    private final Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
    private final OctetKeyPair key = AuthKeys.generate();
    private final TokenIssuer issuer = new TokenIssuer(key, clock);
    private final TokenVerifier verifier = new TokenVerifier(List.of(key.toPublicJWK()), clock);

    @Test
    void aServiceTokenRoundTrips() throws Exception {
        String token = issuer.issue(Claims.service(Scope.SAFEKEEPER_DATA, "safekeeper-1", Optional.empty()));
        Claims claims = verifier.authorize(token, Set.of(Scope.SAFEKEEPER_DATA));
        assertThat(claims.scope()).isEqualTo(Scope.SAFEKEEPER_DATA);
        assertThat(claims.subject()).isEqualTo("safekeeper-1");
        assertThat(claims.timeline()).isEmpty();
        assertThat(claims.expiresAt()).isEmpty();
    }

    @Test
    void aComputeTokenIsBoundToItsTimeline() throws Exception {
        TimelineId mine = TimelineId.random();
        String token = issuer.issue(Claims.compute(mine, "compute", Optional.of(NOW.plusSeconds(60))));
        assertThat(verifier.authorizeTimeline(token, Set.of(Scope.COMPUTE), mine).timeline()).contains(mine);
        assertRefused(() -> verifier.authorizeTimeline(token, Set.of(Scope.COMPUTE), TimelineId.random()),
                Reason.WRONG_TIMELINE);
    }

    @Test
    void aTokenOfAnotherScopeIsForbidden() throws Exception {
        String token = issuer.issue(Claims.service(Scope.PAGESERVER_API,
                "pageserver", Optional.empty()));
        AuthException e = assertRefused(() -> verifier.authorize(token, Set.of(Scope.SAFEKEEPER_DATA)), Reason.WRONG_SCOPE);
        assertThat(e.getMessage()).contains("pageserverapi").contains("safekeeperdata");
        assertThat(e.reason().unauthenticated()).isFalse();
    }

    @Test
    void missingAndMalformedTokensAreUnauthenticated() {
        assertThat(assertRefused(() -> verifier.verify(null), Reason.MISSING).reason().unauthenticated()).isTrue();
        assertRefused(() -> verifier.verify("  "), Reason.MISSING);
        assertRefused(() -> verifier.verify("not-a-token"), Reason.MALFORMED);
        assertRefused(() -> verifier.verify("a.b.c"), Reason.MALFORMED);
        assertRefused(() -> verifier.verify("x".repeat(TokenVerifier.MAX_TOKEN_CHARS + 1)), Reason.MALFORMED);
        assertRefused(() -> verifier.verify("\u0000\u0001.\uffff.."), Reason.MALFORMED);
    }

    @Test
    void anExpiredTokenIsRefusedAndAFreshOneIsNot() throws Exception {
        String old = issuer.issue(Claims.service(Scope.ADMIN, "op", Optional.of(NOW.minus(Duration.ofMinutes(5)))));
        assertRefused(() -> verifier.verify(old), Reason.EXPIRED);
        // within the clock skew allowance it still passes
        String justNow = issuer.issue(Claims.service(Scope.ADMIN, "op", Optional.of(NOW.minusSeconds(5))));
        assertThat(verifier.verify(justNow).scope()).isEqualTo(Scope.ADMIN);
    }

    @Test
    void aTokenSignedByAnotherKeyIsForged() {
        TokenIssuer stranger = new TokenIssuer(AuthKeys.generate(), clock);
        String forged = stranger.issue(Claims.service(Scope.ADMIN, "op", Optional.empty()));
        assertRefused(() -> verifier.verify(forged), Reason.BAD_SIGNATURE);
    }

    @Test
    void aTamperedPayloadDoesNotVerify() {
        String token = issuer.issue(Claims.service(Scope.SAFEKEEPER_DATA,
                "sk", Optional.empty()));
        String[] parts = token.split("\\.");
        String payload = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8)
                .replace("safekeeperdata", "admin");
        String tampered = parts[0] + "." + Base64.getUrlEncoder().withoutPadding()
                .encodeToString(payload.getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
        assertRefused(() -> verifier.verify(tampered), Reason.BAD_SIGNATURE);
    }

    @Test
    void unsignedAndSymmetricTokensAreRefused() throws Exception {
        JWTClaimsSet admin = new JWTClaimsSet.Builder().claim("scope", "admin").build();
        assertRefused(() -> verifier.verify(new PlainJWT(admin).serialize()), Reason.UNSUPPORTED_ALGORITHM);
        // "algorithm confusion": an HMAC keyed with the public key's bytes must not pass
        SignedJWT hs = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), admin);
        byte[] secret = (key.toPublicJWK().toJSONString() + "-padding-to-32-bytes-at-least").getBytes(StandardCharsets.UTF_8);
        hs.sign(new MACSigner(secret));
        assertRefused(() -> verifier.verify(hs.serialize()), Reason.UNSUPPORTED_ALGORITHM);
    }

    @Test
    void claimsOfTheWrongShapeAreMalformed() throws Exception {
        assertRefused(() -> verifier.verify(signed(new JWTClaimsSet.Builder().subject("x").build())), Reason.MALFORMED);
        assertRefused(() -> verifier.verify(signed(new JWTClaimsSet.Builder().claim("scope", "root").build())),
                Reason.MALFORMED);
        assertRefused(() -> verifier.verify(signed(new JWTClaimsSet.Builder().claim("scope", 7).build())),
                Reason.MALFORMED);
        assertRefused(() -> verifier.verify(signed(new JWTClaimsSet.Builder().claim("scope", "compute").build())),
                Reason.MALFORMED);
        assertRefused(() -> verifier.verify(signed(new JWTClaimsSet.Builder().claim("scope", "compute")
                .claim("timeline_id", "../../etc").build())), Reason.MALFORMED);
    }

    @Test
    void aVerifierTrustsEveryKeyOfItsSetForRotation() throws Exception {
        OctetKeyPair next = AuthKeys.generate();
        TokenVerifier both = new TokenVerifier(List.of(key.toPublicJWK(), next.toPublicJWK()), clock);
        String byNext = new TokenIssuer(next, clock).issue(Claims.service(Scope.ADMIN, "op", Optional.empty()));
        String byOld = issuer.issue(Claims.service(Scope.ADMIN, "op", Optional.empty()));
        assertThat(both.verify(byNext).scope()).isEqualTo(Scope.ADMIN);
        assertThat(both.verify(byOld).scope()).isEqualTo(Scope.ADMIN);
        assertRefused(() -> verifier.verify(byNext), Reason.BAD_SIGNATURE);
    }

    @Test
    void bearerHeadersAreParsedStrictly() throws Exception {
        assertThat(BearerToken.fromHeader("Bearer abc")).isEqualTo("abc");
        assertThat(BearerToken.fromHeader("bearer abc ")).isEqualTo("abc");
        assertRefused(() -> BearerToken.fromHeader(null), Reason.MISSING);
        assertRefused(() -> BearerToken.fromHeader("Bearer "), Reason.MISSING);
        assertRefused(() -> BearerToken.fromHeader("Basic dXNlcjpwYXNz"), Reason.MALFORMED);
        assertRefused(() -> BearerToken.fromHeader("Bear"), Reason.MALFORMED);
    }

    private String signed(JWTClaimsSet set) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.EdDSA).keyID(key.getKeyID()).build(), set);
        jwt.sign(new com.nimbusds.jose.crypto.Ed25519Signer(key));
        return jwt.serialize();
    }

    interface Call {
        Object run() throws Exception;
    }

    private static AuthException assertRefused(Call call, Reason reason) {
        try {
            Object result = call.run();
            throw new AssertionError("expected a refusal (" + reason + "), got " + result);
        } catch (AuthException e) {
            assertThat(e.reason()).as(e.getMessage()).isEqualTo(reason);
            return e;
        } catch (Exception e) {
            throw new AssertionError("expected an AuthException, got " + e, e);
        }
    }
}
