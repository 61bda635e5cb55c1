package dev.strata.control.keys;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetKeyPair;
import dev.strata.control.testing.MotoServer;
import dev.strata.pgcore.auth.AuthKeys;
import dev.strata.pgcore.auth.Claims;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.auth.TokenIssuer;
import dev.strata.pgcore.auth.TokenVerifier;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;

/**
 * The deploy's key issuance against moto's Secrets Manager, from the placeholders the stack creates:
 * a key, its public set and a token that the services can use, issued once and then kept.
 */
class ServiceKeysTest {

    @TempDir
    static Path dir;
    private static MotoServer moto;
    private static SecretsManagerClient sm;

    @BeforeAll
    static void start() throws Exception {
        moto = MotoServer.startOrSkip(dir, "key issuance");
        sm = moto.client(SecretsManagerClient.builder(), Region.US_EAST_1);
    }

    @AfterAll
    static void stop() {
        if (sm != null) {
            sm.close();
        }
        if (moto != null) {
            moto.close();
        }
    }

    /** Three secrets as the stack creates them: random placeholder strings. */
    static ServiceKeys.Secrets placeholders(SecretsManagerClient sm) {
        String env = UUID.randomUUID().toString().substring(0, 8);
        return new ServiceKeys.Secrets(create(sm, env + "/jwt-signing-key"), create(sm, env + "/jwt-public-keys"),
                create(sm, env + "/safekeeper-token"));
    }

    private static String create(SecretsManagerClient sm, String name) {
        return sm.createSecret(b -> b.name("strata/" + name).secretString("Xq7" + UUID.randomUUID())).arn();
    }

    private static String value(String arn) {
        return sm.getSecretValue(b -> b.secretId(arn)).secretString();
    }

    @Test
    void placeholdersBecomeAKeyItsPublicSetAndATokenTheListenersAccept() throws Exception {
        ServiceKeys.Secrets arns = placeholders(sm);
        ServiceKeys.Issued issued = new ServiceKeys(sm).ensure(arns);
        assertThat(issued.keyWritten()).isTrue();
        assertThat(issued.publicKeysWritten()).isTrue();
        assertThat(issued.tokenWritten()).isTrue();

        OctetKeyPair key = OctetKeyPair.parse(value(arns.signingKey()));
        assertThat(key.isPrivate()).isTrue();
        assertThat(key.getKeyID()).isEqualTo(issued.keyId());
        JWKSet set = JWKSet.parse(value(arns.publicKeys()));
        assertThat(set.getKeys()).hasSize(1);
        assertThat(set.getKeys().get(0).isPrivate()).as("only the public half is published").isFalse();
        // What a safekeeper does at start: trust the set, present the token to its peers.
        TokenVerifier verifier = new TokenVerifier(List.of((OctetKeyPair) set.getKeys().get(0)));
        Claims c = verifier.verify(value(arns.safekeeperToken()));
        assertThat(c.scope()).isEqualTo(Scope.SAFEKEEPER_DATA);
        assertThat(c.expiresAt()).as("read once at start: no expiry").isEmpty();
        // and what the control plane signs, the listeners accept
        assertThat(verifier.verify(new TokenIssuer(key).issue(Claims.service(Scope.PAGESERVER_API, "control-plane",
                Optional.empty()))).scope()).isEqualTo(Scope.PAGESERVER_API);
    }

    @Test
    void aSecondRunKeepsEverythingAndAStackUpdateNeverRotatesTheKey() {
        ServiceKeys.Secrets arns = placeholders(sm);
        ServiceKeys.Issued first = new ServiceKeys(sm).ensure(arns);
        String key = value(arns.signingKey());
        String token = value(arns.safekeeperToken());
        ServiceKeys.Issued second = new ServiceKeys(sm).ensure(arns);
        assertThat(second).isEqualTo(new ServiceKeys.Issued(first.keyId(), false, false, false));
        assertThat(value(arns.signingKey())).isEqualTo(key);
        assertThat(value(arns.safekeeperToken())).isEqualTo(token);
    }

    @Test
    void aRunThatStoppedAfterTheKeyIsCompletedWithThatKey() throws Exception {
        ServiceKeys.Secrets arns = placeholders(sm);
        OctetKeyPair key = AuthKeys.generate();
        sm.putSecretValue(b -> b.secretId(arns.signingKey()).secretString(key.toJSONString()));
        ServiceKeys.Issued issued = new ServiceKeys(sm).ensure(arns);
        assertThat(issued).isEqualTo(new ServiceKeys.Issued(key.getKeyID(), false, true, true));
        new TokenVerifier(List.of(key.toPublicJWK())).verify(value(arns.safekeeperToken()));
    }

    @Test
    void aTokenOfAnotherKeyIsReplacedAndARotationSetThatHoldsTheKeyIsKept() throws Exception {
        ServiceKeys.Secrets arns = placeholders(sm);
        OctetKeyPair key = AuthKeys.generate();
        OctetKeyPair next = AuthKeys.generate();
        sm.putSecretValue(b -> b.secretId(arns.signingKey()).secretString(key.toJSONString()));
        String rotationSet = AuthKeys.publicKeySet(List.of(next, key));
        sm.putSecretValue(b -> b.secretId(arns.publicKeys()).secretString(rotationSet));
        sm.putSecretValue(b -> b.secretId(arns.safekeeperToken()).secretString(new TokenIssuer(next).issue(
                Claims.service(Scope.SAFEKEEPER_DATA, "safekeeper", Optional.empty()))));

        ServiceKeys.Issued issued = new ServiceKeys(sm).ensure(arns);
        assertThat(issued).isEqualTo(new ServiceKeys.Issued(key.getKeyID(), false, false, true));
        assertThat(value(arns.publicKeys())).isEqualTo(rotationSet);
        new TokenVerifier(List.of(key.toPublicJWK())).verify(value(arns.safekeeperToken()));
    }

    @Test
    void onlyAnEd25519PrivateJwkCountsAsAKey() {
        OctetKeyPair key = AuthKeys.generate();
        assertThat(ServiceKeys.privateKey(key.toJSONString())).isPresent();
        assertThat(ServiceKeys.privateKey(key.toPublicJWK().toJSONString())).as("a public key").isEmpty();
        assertThat(ServiceKeys.privateKey("Xq7-placeholder")).isEmpty();
        assertThat(ServiceKeys.privateKey("{\"kty\":\"OKP\"}")).isEmpty();
        assertThat(ServiceKeys.privateKey("")).isEmpty();
    }
}
