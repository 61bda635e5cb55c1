package dev.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The {@code ./strata} script passes every command the CLI has on to it (a command it refuses
 * never reaches the CLI: the branch commands once did) and lists each in its help.
 */
class StrataScriptTest {

    private static final Path SCRIPT = Path.of("..", "strata");

    private record Run(int exit, String out) {
    }

    private static Run run(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("bash", SCRIPT.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("./strata " + String.join(" ", args) + " did not end in 30 s");
        }
        return new Run(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    @Test
    void helpListsEveryCommandAndAnUnknownOneIsAUsageError() throws Exception {
        Run help = run("help");
        assertThat(help.exit()).isZero();
        for (String c : List.of("up", "status", "down", "branch create", "branch list", "branch delete", "restore",
                "connect", "verify")) {
            assertThat(help.out()).as(c).contains("  " + c + " ");
        }
        Run unknown = run("frobnicate");
        assertThat(unknown.exit()).isEqualTo(64);
        assertThat(unknown.out()).contains("unknown command 'frobnicate'");
    }

    @Test
    void theScriptLetsEveryCliCommandThrough() throws Exception {
        String text = java.nio.file.Files.readString(SCRIPT);
        String allowed = text.lines().filter(l -> l.strip().startsWith("up|")).findFirst().orElseThrow();
        for (String c : List.of("up", "status", "down", "branch", "restore", "connect", "verify", "project", "endpoint",
                "operation")) {
            assertThat(allowed).as(c).containsPattern("(^|\\|)\\s*" + c + "(\\||\\))");
        }
    }
}
