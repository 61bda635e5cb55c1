package dev.strata.infra.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The app refuses a missing Lambda bundle with the command that builds it (no synth needed). */
class LambdaBundleTest {

    @TempDir
    Path dir;

    @Test
    void aMissingBundleNamesTheBuildCommand() {
        assertThatThrownBy(() -> ControlPlaneFunctions.checkBundle(dir.resolve("lambda")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("mvn -pl infra-cdk -am package -DskipTests");
    }

    @Test
    void aBundleWithoutTheFunctionsJarIsRefused() throws Exception {
        Files.createDirectories(dir.resolve("lambda/lib"));
        Files.writeString(dir.resolve("lambda/lib/pgcore-0.1.0-SNAPSHOT.jar"), "x");
        assertThatThrownBy(() -> ControlPlaneFunctions.checkBundle(dir.resolve("lambda")))
                .hasMessageContaining("lib/functions-*.jar");
    }

    @Test
    void aBundleWithTheFunctionsJarIsAccepted() throws Exception {
        Files.createDirectories(dir.resolve("lambda/lib"));
        Files.writeString(dir.resolve("lambda/lib/functions-0.1.0-SNAPSHOT.jar"), "x");
        assertThat(ControlPlaneFunctions.checkBundle(dir.resolve("lambda"))).isEqualTo(dir.resolve("lambda"));
    }
}
