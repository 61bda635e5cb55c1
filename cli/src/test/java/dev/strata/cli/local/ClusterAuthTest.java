package dev.strata.cli.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pgcore.auth.AuthException;
import dev.strata.pgcore.auth.AuthKeys;
import dev.strata.pgcore.auth.Scope;
import dev.strata.pgcore.id.TimelineId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterAuthTest {

    @TempDir
    Path root;

    @Test
    void theKeyIsMadeOnceAndKeptPrivate() throws Exception {
        Path dir = root.resolve("auth");
        ClusterAuth first = ClusterAuth.loadOrCreate(dir);
        String token = first.token(Scope.SAFEKEEPER_DATA, "sk-1");
        ClusterAuth again = ClusterAuth.loadOrCreate(dir);
        // a restart keeps the key: tokens issued before still verify
        assertThat(again.verifier().authorize(token, Set.of(Scope.SAFEKEEPER_DATA)).subject()).isEqualTo("sk-1");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwx------");
        for (String f : new String[] {ClusterAuth.SIGNING_KEY, ClusterAuth.PUBLIC_KEYS}) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(f)))).isEqualTo("rw-------");
        }
    }

    @Test
    void tokenFilesCarryOneScopeAndComputeTokensOneTimeline() throws Exception {
        ClusterAuth auth = ClusterAuth.loadOrCreate(root.resolve("auth"));
        Path file = auth.tokenFile(Scope.PAGESERVER_API, "pageserver");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        String token = AuthKeys.readToken(file);
        assertThat(auth.verifier().authorize(token, Set.of(Scope.PAGESERVER_API)).scope()).isEqualTo(Scope.PAGESERVER_API);
        assertThatThrownBy(() -> auth.verifier().authorize(token, Set.of(Scope.ADMIN))).isInstanceOf(AuthException.class);

        TimelineId t = TimelineId.random();
        String compute = auth.computeToken(t, "compute-main");
        assertThat(auth.verifier().authorizeTimeline(compute, Set.of(Scope.COMPUTE), t).timeline()).contains(t);
        assertThatThrownBy(() -> auth.verifier().authorizeTimeline(compute, Set.of(Scope.COMPUTE), TimelineId.random()))
                .isInstanceOf(AuthException.class);
    }

    @Test
    void aKeyFileOthersCanReadIsRefused() throws Exception {
        Path dir = root.resolve("auth");
        ClusterAuth.loadOrCreate(dir);
        Files.setPosixFilePermissions(dir.resolve(ClusterAuth.SIGNING_KEY), PosixFilePermissions.fromString("rw-r--r--"));
        assertThatThrownBy(() -> ClusterAuth.loadOrCreate(dir)).hasMessageContaining("chmod 600");
    }
}
