package dev.strata.cli.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The local cluster's one JVM is started with bounded memory (docs/local-cluster.md, "Limits"):
 * by the {@code strata} script, and by {@code up --detach} for the cluster process it starts.
 */
class ClusterJvmTest {

    @Test
    void theDetachedClusterGetsTheLaunchersBoundsOrTheDefaults() {
        assertThat(ClusterJvm.memoryFlags(List.of("--enable-native-access=ALL-UNNAMED")))
                .containsExactly("-Xmx2g", "-XX:MaxDirectMemorySize=1g");
        assertThat(ClusterJvm.memoryFlags(List.of("-Xmx3g", "-XX:MaxDirectMemorySize=256m", "-Dx=y")))
                .containsExactly("-Xmx3g", "-XX:MaxDirectMemorySize=256m");
        // The running test JVM: whatever it was given, the detached cluster gets a heap bound.
        assertThat(ClusterJvm.memoryFlags()).anySatisfy(f -> assertThat(f).matches("-Xmx.+|-XX:MaxHeapSize=.+"));
    }

    @Test
    void theStrataScriptBoundsTheClusterJvm() throws Exception {
        Path script = Path.of("..", "strata");
        assertThat(script).exists();
        String launch = Files.readString(script);
        launch = launch.substring(launch.lastIndexOf("exec java"));
        assertThat(launch).contains("-Xmx\"${STRATA_CLUSTER_HEAP:-" + ClusterJvm.DEFAULT_HEAP + "}\"")
                .contains("-XX:MaxDirectMemorySize=\"${STRATA_CLUSTER_DIRECT_MEMORY:-" + ClusterJvm.DEFAULT_DIRECT + "}\"")
                .contains("dev.strata.cli.StrataCli");
    }
}
