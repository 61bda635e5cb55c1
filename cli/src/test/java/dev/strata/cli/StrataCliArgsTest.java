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
    void upRunsTheControlPlaneUnlessAskedNotTo() {
        assertThat(StrataCli.parse(new String[] {"up"}).controlPlane()).isTrue();
        assertThat(StrataCli.parse(new String[] {"up", "--no-control-plane", "--detach"}).controlPlane()).isFalse();
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
    void verifyIsDispatchedAndSaysWhenNoClusterRuns() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new StrataCli(new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true,
                StandardCharsets.UTF_8)).run(new String[] {"verify", "--data-dir", tmp.resolve("none").toString()});
        assertThat(code).isEqualTo(3);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("strata verify: no cluster is running in");
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

    @Test
    void parsesTheBranchCommands() {
        java.time.Clock utc = java.time.Clock.fixed(java.time.Instant.parse("2026-12-06T10:00:00Z"), java.time.ZoneOffset.UTC);
        StrataCli.BranchArgs c = StrataCli.parseBranch(new String[] {"branch", "create", "dev", "--parent", "main", "--at",
                "0/3000028"}, utc);
        assertThat(c.action()).isEqualTo("create");
        assertThat(c.name()).isEqualTo("dev");
        assertThat(c.parent()).isEqualTo("main");
        assertThat(c.point().toString()).isEqualTo("0/3000028");
        assertThat(StrataCli.parseBranch(new String[] {"branch", "list"}, utc).action()).isEqualTo("list");
        assertThat(StrataCli.parseBranch(new String[] {"branch", "list", "--json"}, utc).json()).isTrue();
        StrataCli.BranchArgs r = StrataCli.parseBranch(new String[] {"restore", "main", "--to", "09:59:00"}, utc);
        assertThat(r.point().toString()).isEqualTo("2026-12-06T09:59:00Z");
        assertThat(r.source()).isNull();
        StrataCli.BranchArgs undo = StrataCli.parseBranch(new String[] {"restore", "main", "--from",
                "main_old_2026-12-06T10:00:00Z"}, utc);
        assertThat(undo.point()).isNull();
        assertThat(undo.source()).isEqualTo("main_old_2026-12-06T10:00:00Z");
        assertThat(StrataCli.parseBranch(new String[] {"connect", "dev"}, utc).name()).isEqualTo("dev");
        // the control-plane path's options; --json on every command (the API path prints JSON for each)
        StrataCli.BranchArgs api = StrataCli.parseBranch(new String[] {"branch", "create", "x", "--json", "--api",
                "http://127.0.0.1:9/", "--no-wait", "--timeout", "30"}, utc);
        assertThat(api.json()).isTrue();
        assertThat(api.api()).isEqualTo("http://127.0.0.1:9/");
        assertThat(api.follow()).isFalse();
        assertThat(api.timeout()).isEqualTo(java.time.Duration.ofSeconds(30));
        assertThat(api.controlPlane()).isTrue();
        StrataCli.BranchArgs admin = StrataCli.parseBranch(new String[] {"branch", "delete", "x", "--no-control-plane"}, utc);
        assertThat(admin.controlPlane()).isFalse();
        assertThat(admin.follow()).isTrue();
        assertThat(admin.timeout()).isEqualTo(ApiCommands.DEFAULT_TIMEOUT);
        // the project: the cluster's own unless --project names another (ids are lower-cased)
        assertThat(admin.project().value()).isEqualTo("default");
        assertThat(StrataCli.parseBranch(new String[] {"branch", "list", "--project", "P-Shop"}, utc).project().value())
                .isEqualTo("p-shop");
    }

    @Test
    void aBranchCommandGoesToTheApiWhenOneIsKnownAndToTheAdminPortOtherwise() throws Exception {
        Path dir = tmp.resolve("cp");
        java.nio.file.Files.createDirectories(dir);
        // no control-api.url: the admin port, and --json is refused there for anything but list
        Run noApi = runCli("branch", "create", "x", "--json", "--data-dir", dir.toString());
        assertThat(noApi.code()).isEqualTo(64);
        assertThat(noApi.err()).contains("--json is for branch list only on the cluster's admin port");
        Run adminList = runCli("branch", "list", "--data-dir", dir.toString());
        assertThat(adminList.code()).isEqualTo(3);
        assertThat(adminList.err()).contains("no cluster is running");
        // control-api.url names an API that does not answer: the API path, which says so (exit 3)
        java.nio.file.Files.writeString(dir.resolve("control-api.url"), "http://127.0.0.1:9\n");
        Run viaApi = runCli("branch", "list", "--data-dir", dir.toString());
        assertThat(viaApi.code()).isEqualTo(3);
        assertThat(viaApi.err()).contains("the control-plane API did not answer");
        // --no-control-plane: the admin port even so
        Run forced = runCli("branch", "list", "--no-control-plane", "--data-dir", dir.toString());
        assertThat(forced.code()).isEqualTo(3);
        assertThat(forced.err()).contains("no cluster is running");
    }

    private record Run(int code, String out, String err) {
    }

    private static Run runCli(String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new StrataCli(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(argv);
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void refusesBranchCommandsThatCannotMeanAnything() {
        java.time.Clock utc = java.time.Clock.systemUTC();
        assertThatThrownBy(() -> StrataCli.parseBranch(new String[] {"branch"}, utc)).hasMessageContaining("needs an action");
        assertThatThrownBy(() -> StrataCli.parseBranch(new String[] {"branch", "make", "x"}, utc))
                .hasMessageContaining("unknown branch action 'make'");
        assertThatThrownBy(() -> StrataCli.parseBranch(new String[] {"branch", "create"}, utc))
                .hasMessageContaining("needs a branch name");
        assertThatThrownBy(() -> StrataCli.parseBranch(new String[] {"restore", "main"}, utc))
                .hasMessageContaining("restore needs --to");
        assertThatThrownBy(() -> StrataCli.parseBranch(new String[] {"restore", "main", "--at", "0/1"}, utc))
                .hasMessageContaining("--at is an option of create");
        assertThatThrownBy(() -> StrataCli.parseBranch(new String[] {"branch", "create", "x", "--at", "soon"}, utc))
                .hasMessageContaining("'soon' is neither");
        assertThatThrownBy(() -> StrataCli.parseBranch(new String[] {"branch", "create", "x", "--timeout", "0"}, utc))
                .hasMessageContaining("--timeout takes 1 to 86400 seconds");
        assertThatThrownBy(() -> StrataCli.parseBranch(new String[] {"branch", "list", "--api"}, utc))
                .hasMessageContaining("--api needs a value");
        assertThatThrownBy(() -> StrataCli.parseBranch(new String[] {"connect", "dev", "--api", "http://x",
                "--no-control-plane"}, utc)).hasMessageContaining("exclude each other");
        assertThatThrownBy(() -> StrataCli.parseBranch(new String[] {"branch", "list", "x"}, utc))
                .hasMessageContaining("unexpected argument 'x'");
        assertThatThrownBy(() -> StrataCli.parseBranch(new String[] {"branch", "list", "--project", "no/such"}, utc))
                .hasMessageStartingWith("--project: ");
        assertThatThrownBy(() -> StrataCli.parseBranch(new String[] {"branch", "list", "--project", "p-shop",
                "--no-control-plane"}, utc)).hasMessageContaining("--project needs the control-plane API");
    }

    @Test
    void aBranchCommandWithoutARunningClusterSaysSo() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = new StrataCli(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(new String[] {"branch", "list", "--data-dir",
                tmp.resolve("none").toString()});
        assertThat(code).isEqualTo(3);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("no cluster is running");
    }
}
