package dev.strata.pgcore.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.jwk.OctetKeyPair;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuthKeysTest {

    @TempDir
    Path dir;

    @Test
    void keysAndTokensRoundTripThroughOwnerOnlyFiles() throws Exception {
        OctetKeyPair key = AuthKeys.generate();
        Path priv = dir.resolve("auth_key.jwk");
        Path pub = dir.resolve("auth_public.jwks");
        Path tokenFile = dir.resolve("token");
        AuthKeys.writePrivateKey(priv, key);
        AuthKeys.writePublicKeys(pub, List.of(key));
        String token = new TokenIssuer(AuthKeys.readPrivateKey(priv))
                .issue(Claims.service(Scope.PAGESERVER_API, "pageserver", Optional.empty()));
        AuthKeys.writeToken(tokenFile, token);

        for (Path p : List.of(priv, pub, tokenFile)) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(p))).as(p.toString())
                    .isEqualTo("rw-------");
        }
        assertThat(Files.readString(pub)).doesNotContain("\"d\"");
        TokenVerifier verifier = new TokenVerifier(AuthKeys.readPublicKeys(pub));
        assertThat(verifier.authorize(AuthKeys.readToken(tokenFile), Set.of(Scope.PAGESERVER_API)).subject())
                .isEqualTo("pageserver");
    }

    @Test
    void secretFilesOthersCanReadAreRefused() throws Exception {
        Path priv = dir.resolve("auth_key.jwk");
        AuthKeys.writePrivateKey(priv, AuthKeys.generate());
        Files.setPosixFilePermissions(priv, PosixFilePermissions.fromString("rw-r--r--"));
        assertThatThrownBy(() -> AuthKeys.readPrivateKey(priv)).isInstanceOf(IOException.class)
                .hasMessageContaining("chmod 600");
        Path token = dir.resolve("token");
        AuthKeys.writeToken(token, "abc");
        Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-rw----"));
        assertThatThrownBy(() -> AuthKeys.readToken(token)).hasMessageContaining("chmod 600");
    }

    @Test
    void aPublicKeyCannotIssueAndGarbageIsNotAKey() throws Exception {
        OctetKeyPair key = AuthKeys.generate();
        assertThatThrownBy(() -> new TokenIssuer(key.toPublicJWK())).isInstanceOf(IllegalArgumentException.class);
        Path junk = dir.resolve("junk");
        Files.writeString(junk, "{\"keys\":[]}");
        assertThatThrownBy(() -> AuthKeys.readPublicKeys(junk)).hasMessageContaining("no Ed25519 public key");
        Files.writeString(junk, "not json");
        assertThatThrownBy(() -> AuthKeys.readPublicKeys(junk)).hasMessageContaining("not a JWK Set");
    }
}
