package dev.strata.cli.local;

import static dev.strata.cli.local.ClusterClient.connect;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12: another user of the machine cannot read the local cluster's directory: not its
 * passwords ({@code cluster.properties}), not the proxy's private keys, not layer files or WAL.
 * A real cluster is started (PostgreSQL running as {@code postgres} must still reach its data
 * directory inside), then {@code runuser -u nobody} tries to read each kind of file.
 * Needs root (to switch users), as in CI and on these machines.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ClusterFilesPrivacyTest {

    @TempDir
    Path tmp;

    /** Runs {@code command} as {@code user}; returns exit code and stderr. */
    private static String[] runAs(String user, String... command) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("runuser", "-u", user, "--"));
        cmd.addAll(List.of(command));
        Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        byte[] err = p.getErrorStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("runuser finished").isTrue();
        return new String[] {Integer.toString(p.exitValue()), new String(err, StandardCharsets.UTF_8)};
    }

    private static void assertDenied(String user, String... command) throws Exception {
        String[] r = runAs(user, command);
        assertThat(r[0]).as(String.join(" ", command) + " as " + user + ": " + r[1]).isNotEqualTo("0");
        assertThat(r[1]).contains("Permission denied");
    }

    private static Path firstFile(Path dir, String nameContains) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).filter(f -> f.getFileName().toString().contains(nameContains))
                    .findFirst().orElseThrow(() -> new AssertionError("no file like *" + nameContains + "* under " + dir));
        }
    }

    private static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test
    void anotherUserCannotReadSecretsLayerFilesOrWal() throws Exception {
        assumeTrue(PrivateFiles.isRoot(), "switching to another OS user needs root (CI runs as root)");
        // the temporary directory is 0700: open it for entering, so that only .strata's own
        // mode stands between another user and the files
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
        Path root = tmp.resolve(".strata");
        ClusterLayout layout = new ClusterLayout(root);
        try (LocalCluster c = LocalCluster.start(layout, new LocalCluster.Options(0, false, Duration.ofSeconds(300)),
                s -> { })) {
            try (Connection conn = connect(c); Statement s = conn.createStatement()) {
                s.execute("CREATE TABLE secret_rows (id int PRIMARY KEY, v text)");
                s.execute("INSERT INTO secret_rows SELECT g, 'card ' || g FROM generate_series(1, 1000) g");
            }
            PosixFileAttributes rootAttrs = Files.readAttributes(root, PosixFileAttributes.class);
            assertThat(PosixFilePermissions.toString(rootAttrs.permissions())).isEqualTo("rwx--x---");
            assertThat(rootAttrs.group().getName()).isEqualTo("postgres");
            assertThat(mode(layout.stateFile())).isEqualTo("rw-------");
            assertThat(mode(layout.proxyDir().resolve("ca.key"))).isEqualTo("rw-------");
            assertThat(mode(layout.proxyDir().resolve("server.key"))).isEqualTo("rw-------");

            Path signingKey = layout.authDir().resolve(ClusterAuth.SIGNING_KEY);
            assertThat(mode(signingKey)).isEqualTo("rw-------");
            assertThat(mode(layout.authDir())).isEqualTo("rwx------");
            List<Path> files = List.of(layout.stateFile(), layout.proxyDir().resolve("ca.key"),
                    layout.proxyDir().resolve("server.key"), layout.logFile(), signingKey,
                    firstFile(layout.pageserverDir(), ""), firstFile(root.resolve("safekeepers"), "0000000"));
            // control: the user can reach .strata itself, so each refusal below is .strata's doing
            assertThat(runAs("nobody", "stat", root.toString())[0]).isEqualTo("0");
            assertDenied("nobody", "ls", root.toString());
            for (Path f : files) {
                assertDenied("nobody", "cat", f.toString());
            }
            // the postgres user may enter (to reach its data directory) but reads no secret
            assertDenied("postgres", "cat", layout.stateFile().toString());
            assertDenied("postgres", "cat", layout.proxyDir().resolve("ca.key").toString());
            // the compute runs user SQL as superuser (COPY ... FROM file): it must not mint tokens
            assertDenied("postgres", "cat", signingKey.toString());
            // nor read the history in the local object store (layer files hold pg_authid too), whose
            // paths it could guess from its own timeline id
            assertThat(mode(layout.objectStoreDir())).isEqualTo("rwx------");
            Path s3File = firstFile(layout.objectStoreDir(), "");
            assertDenied("postgres", "cat", s3File.toString());
            assertDenied("postgres", "ls", layout.objectStoreDir().toString());
            assertDenied("postgres", "ls", root.toString());
        }
    }

    @Test
    void privateFilesAreCreatedOwnerOnlyFromTheStart() throws Exception {
        Path dir = tmp.resolve("d");
        PrivateFiles.createPrivateDirectory(dir);
        assertThat(mode(dir)).isEqualTo("rwx------");
        Path ready = dir.resolve("ready");
        PrivateFiles.writeSecret(ready, "postgresql://u:pw@127.0.0.1/x\n");
        assertThat(mode(ready)).isEqualTo("rw-------");
        Path out = dir.resolve("daemon.out");
        Files.writeString(out, "old");
        Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("rw-r--r--"));
        PrivateFiles.createEmptyPrivateFile(out);
        assertThat(mode(out)).isEqualTo("rw-------");
        assertThat(Files.size(out)).isZero();

        Path open = tmp.resolve("open");
        Files.createDirectory(open);
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxr-xr-x"));
        PrivateFiles.createRoot(open);
        assertThat(mode(open)).isIn("rwx------", "rwx--x---"); // tightened; group postgres when root
        if (PrivateFiles.isRoot()) {
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
            assertDenied("nobody", "cat", ready.toString());
        }
    }

    @Test
    void clusterDataWithoutItsStateFileIsRefusedInsteadOfGettingNewPasswords() throws Exception {
        Path root = tmp.resolve("damaged");
        Files.createDirectories(root.resolve("safekeepers").resolve("sk-1"));
        assertThatThrownBy(() -> LocalCluster.start(new ClusterLayout(root),
                new LocalCluster.Options(0, false, Duration.ofSeconds(300)), s -> { }))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("no cluster.properties").hasMessageContaining("safekeepers/");
        assertThat(root.resolve("cluster.properties")).doesNotExist();
    }
}
