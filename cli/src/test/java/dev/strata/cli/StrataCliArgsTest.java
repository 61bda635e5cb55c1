package dev.strata.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StrataCliArgsTest {

    @TempDir
    Path tmp;

    @Test
    void parsesUpWithOptions() {
        StrataCli.Args a = StrataCli.parse(new String[] {"up", "--data-dir", "/x/y", "--detach", "--proxy-port", "6543"});
        assertThat(a.command()).isEqualTo("up");
        assertThat(a.dataDir()).isEqualTo(Path.of("/x/y"));
        assertThat(a.detach()).isTrue();
        assertThat(a.proxyPort()).isEqualTo(6543);
        assertThat(a.childProcesses()).isFalse();
    }

    @Test
    void childProcessesIsAnOptionOfUp() {
        // bench/throttled-copy.sh pauses one safekeeper JVM: it needs them as child processes
        StrataCli.Args a = StrataCli.parse(new String[] {"up", "--child-processes", "--detach"});
        assertThat(a.childProcesses()).isTrue();
        assertThat(a.detach()).isTrue();
    }

    @Test
    void defaultsToDotStrataAndTheStandardProxyPort() {
        StrataCli.Args a = StrataCli.parse(new String[] {"status"});
        assertThat(a.proxyPort()).isEqualTo(55432);
        assertThat(a.detach()).isFalse();
    }

    @Test
    void refusesUnknownCommandsOptionsAndBadPorts() {
        assertThatThrownBy(() -> StrataCli.parse(new String[] {"upp"})).hasMessageContaining("unknown command 'upp'");
        assertThatThrownBy(() -> StrataCli.parse(new String[] {"up", "--fast"})).hasMessageContaining("'--fast'");
        assertThatThrownBy(() -> StrataCli.parse(new String[] {"up", "--proxy-port", "x"}))
                .hasMessageContaining("got 'x'");
        assertThatThrownBy(() -> StrataCli.parse(new String[] {"up", "--proxy-port", "70000"}))
                .hasMessageContaining("not a TCP port");
        assertThatThrownBy(() -> StrataCli.parse(new String[] {"up", "--data-dir"})).hasMessageContaining("needs a value");
    }

    @Test
    void usageErrorsExit64WithTheReason() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new StrataCli(new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true,
                StandardCharsets.UTF_8)).run(new String[] {"launch"});
        assertThat(code).isEqualTo(64);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("unknown command 'launch'").contains("usage:");
    }

    @Test
    void statusThatDoesNotAnswerIsNotReportedAsNotRunning() throws Exception {
        // A real socket that takes the request and never answers: the fault of a cluster whose
        // report is stuck behind a paused safekeeper.
        try (java.net.ServerSocket admin = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread acceptor = Thread.ofVirtual().start(() -> {
                try (java.net.Socket s = admin.accept()) {
                    Thread.sleep(10_000);
                } catch (Exception ignored) {
                    // closed by the test
                }
            });
            Path dir = tmp.resolve("stuck");
            java.nio.file.Files.createDirectories(dir.resolve("run"));
            java.nio.file.Files.writeString(dir.resolve("run").resolve("admin.port"), Integer.toString(admin.getLocalPort()));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            int code = new StrataCli(new PrintStream(out, true, StandardCharsets.UTF_8), System.err,
                    java.time.Duration.ofSeconds(1)).run(new String[] {"status", "--data-dir", dir.toString()});
            assertThat(code).isEqualTo(1);
            assertThat(out.toString(StandardCharsets.UTF_8)).contains("running, but its status did not answer within 1 s")
                    .doesNotContain("not running");
            acceptor.interrupt();
        }
    }

    @Test
    void statusOfADirectoryWithoutAClusterSaysSo() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = new StrataCli(new PrintStream(out, true, StandardCharsets.UTF_8), System.err)
                .run(new String[] {"status", "--data-dir", tmp.resolve("none").toString()});
        assertThat(code).isEqualTo(3);
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("not running").contains("no cluster in");
    }
}
