package dev.strata.pgcore.tools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The npm tools install (or are found) and run on Node 22; the validator tells good ASL from bad. */
@Timeout(value = 15, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class NodeToolsTest {

    @TempDir
    Path dir;

    @Test
    void nodeIs22AndTheValidatorAcceptsAValidDefinitionAndRefusesABrokenOne() throws Exception {
        NodeTools tools = NodeTools.get();
        assertThat(run(List.of(tools.node().toString(), "--version"))).startsWith("v22.");

        Path good = dir.resolve("good.asl.json");
        Files.writeString(good, """
                {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": true}}}
                """);
        Path bad = dir.resolve("bad.asl.json");
        Files.writeString(bad, """
                {"StartAt": "Missing", "States": {"Done": {"Type": "Pass", "End": true}}}
                """);
        assertThat(exit(tools.command("asl-validator", "--json-path", good.toString()))).isZero();
        assertThat(exit(tools.command("asl-validator", "--json-path", bad.toString()))).isNotZero();
    }

    @Test
    void anUnknownExecutableIsAClearError() {
        assertThatThrownBy(() -> NodeTools.get().command("no-such-tool"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no-such-tool");
    }

    private static String run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    private static int exit(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getInputStream().transferTo(System.out);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return p.exitValue();
    }
}
