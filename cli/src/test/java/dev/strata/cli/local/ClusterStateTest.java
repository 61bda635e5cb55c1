package dev.strata.cli.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterStateTest {

    @TempDir
    Path tmp;

    @Test
    void secretsAreChosenOnceAndSurviveARestart() throws Exception {
        Path file = tmp.resolve("cluster.properties");
        ClusterState s = ClusterState.loadOrCreate(file);
        String pw = s.secret("db.password");
        s.put("timeline", "abc");
        s.save();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        ClusterState again = ClusterState.loadOrCreate(file);
        assertThat(again.secret("db.password")).isEqualTo(pw).hasSizeGreaterThan(20);
        assertThat(again.require("timeline")).isEqualTo("abc");
        assertThatThrownBy(() -> again.require("nope")).hasMessageContaining("has no 'nope'");
    }
}
