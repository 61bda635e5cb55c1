package dev.strata.pageserver.timeline;

import dev.strata.pgcore.postgres.PostgresBinaries;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs PostgreSQL 17's {@code initdb} into a scratch directory for a new timeline's import.
 * initdb refuses to run as root, so as root it runs as the {@code postgres} user (setpriv), the
 * way pgcore's {@code PostgresServer} does; the directory is handed to that user first.
 */
final class InitdbRunner {

    private static final String SERVER_USER = "postgres";
    private static final long TIMEOUT_SECONDS = 120;

    private InitdbRunner() {
    }

    /** @param superuserPassword the {@code postgres} role's password (SCRAM), or null for none */
    static void run(PostgresBinaries binaries, Path pgdata, boolean dataChecksums, String superuserPassword) {
        Path pwfile = null;
        try {
            Files.createDirectories(pgdata);
            Files.setPosixFilePermissions(pgdata, Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
                    PosixFilePermission.OWNER_EXECUTE));
            boolean root = isRoot();
            if (root) {
                makeReachable(pgdata.getParent());
                handOver(pgdata);
            }
            List<String> cmd = new ArrayList<>();
            if (root) {
                cmd.addAll(List.of("setpriv", "--reuid=" + SERVER_USER, "--regid=" + SERVER_USER, "--init-groups", "--"));
            }
            cmd.addAll(List.of(binaries.bin("initdb").toString(), "-D", pgdata.toString(), "-U", "postgres",
                    "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions", "--auth=trust"));
            if (dataChecksums) {
                cmd.add("--data-checksums");
            }
            if (superuserPassword != null) {
                // In a file, not on the command line (other users can read command lines).
                pwfile = Files.createTempFile(pgdata.getParent(), "pwfile-", "");
                Files.writeString(pwfile, superuserPassword + "\n");
                if (root) {
                    handOver(pwfile);
                }
                cmd.addAll(List.of("--pwfile=" + pwfile, "-c", "password_encryption=scram-sha-256"));
            }
            Path log = Files.createTempFile("strata-initdb-", ".log");
            try {
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
                if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new IllegalStateException("initdb into " + pgdata + " did not finish in " + TIMEOUT_SECONDS + " s");
                }
                if (p.exitValue() != 0) {
                    throw new IllegalStateException("initdb into " + pgdata + " failed (exit " + p.exitValue() + "): "
                            + Files.readString(log, StandardCharsets.UTF_8).strip());
                }
            } finally {
                Files.deleteIfExists(log);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("initdb into " + pgdata + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running initdb into " + pgdata, e);
        } finally {
            if (pwfile != null) {
                try {
                    Files.deleteIfExists(pwfile);
                } catch (IOException ignored) {
                    // inside the timeline's staging directory, which is removed anyway
                }
            }
        }
    }

    private static boolean isRoot() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException | UnsupportedOperationException e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }

    /**
     * Adds the execute bit for others to each ancestor the server user cannot enter already as
     * owner or through its group (the local cluster's directory is {@code rwx--x---} group
     * postgres so that nobody else can enter it: decision 0013).
     */
    private static void makeReachable(Path dir) throws IOException {
        for (Path p = dir.toAbsolutePath().normalize(); p != null; p = p.getParent()) {
            PosixFileAttributes attrs = Files.readAttributes(p, PosixFileAttributes.class);
            Set<PosixFilePermission> perms = attrs.permissions();
            boolean serverEnters = (SERVER_USER.equals(attrs.owner().getName()) && perms.contains(PosixFilePermission.OWNER_EXECUTE))
                    || (SERVER_USER.equals(attrs.group().getName()) && perms.contains(PosixFilePermission.GROUP_EXECUTE));
            if (!serverEnters && perms.add(PosixFilePermission.OTHERS_EXECUTE)) {
                Files.setPosixFilePermissions(p, perms);
            }
        }
    }

    private static void handOver(Path dir) throws IOException {
        UserPrincipalLookupService lookup = dir.getFileSystem().getUserPrincipalLookupService();
        UserPrincipal user = lookup.lookupPrincipalByName(SERVER_USER);
        GroupPrincipal group = lookup.lookupPrincipalByGroupName(SERVER_USER);
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.toList()) {
                PosixFileAttributeView view = Files.getFileAttributeView(p, PosixFileAttributeView.class);
                view.setOwner(user);
                view.setGroup(group);
            }
        }
    }
}
