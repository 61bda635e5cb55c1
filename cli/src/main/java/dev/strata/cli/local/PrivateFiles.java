package dev.strata.cli.local;

import dev.strata.pgcore.fs.CrashSafe;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.Set;

/**
 * How the local cluster creates its directory and its files so that no other user of the
 * machine can read them (decision 0013). The data directory is {@code rwx------}; when we run
 * as root, PostgreSQL runs as the {@code postgres} user (decision 0002) and must reach its
 * data directory inside, so the directory is then group {@code postgres}, mode {@code rwx--x---}:
 * that group may enter (not list), everyone else may not even enter. Every file that holds a
 * secret is created {@code rw-------} from its first byte (never written, then tightened).
 */
public final class PrivateFiles {

    /** The OS user PostgreSQL runs as when we are root (see pgcore's OsUser). */
    static final String SERVER_GROUP = "postgres";
    static final Set<PosixFilePermission> OWNER_ONLY_DIR = PosixFilePermissions.fromString("rwx------");
    static final Set<PosixFilePermission> SERVER_GROUP_DIR = PosixFilePermissions.fromString("rwx--x---");
    static final Set<PosixFilePermission> OWNER_ONLY_FILE = PosixFilePermissions.fromString("rw-------");

    private PrivateFiles() {
    }

    /**
     * Creates the cluster's data directory closed to other users, or closes an existing one
     * (a directory made by an older version, or by hand, may be open to everyone).
     */
    public static void createRoot(Path root) throws IOException {
        Path dir = root.toAbsolutePath().normalize();
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir.getParent());
            try {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIR));
            } catch (java.nio.file.FileAlreadyExistsException raced) {
                // another `strata up` made it first; closed below all the same
            }
            CrashSafe.fsyncDirectory(dir.getParent());
        }
        PosixFileAttributeView view = Files.getFileAttributeView(dir, PosixFileAttributeView.class);
        GroupPrincipal serverGroup = isRoot() ? serverGroup(dir) : null;
        if (serverGroup != null) {
            view.setGroup(serverGroup);
            view.setPermissions(SERVER_GROUP_DIR);
        } else {
            view.setPermissions(OWNER_ONLY_DIR);
        }
    }

    /** Creates {@code dir} (and missing parents) {@code rwx------}. */
    public static void createPrivateDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir.getParent());
            try {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIR));
            } catch (java.nio.file.FileAlreadyExistsException raced) {
                // made meanwhile; tightened below
            }
        }
        Files.setPosixFilePermissions(dir, OWNER_ONLY_DIR);
    }

    /** Replaces {@code file} atomically and durably with {@code text}, created {@code rw-------}. */
    public static void writeSecret(Path file, String text) throws IOException {
        CrashSafe.writeAtomically(file, text.getBytes(StandardCharsets.UTF_8), OWNER_ONLY_FILE);
    }

    /**
     * An empty file at {@code file}, created {@code rw-------} (a log that may show a
     * connection string): an existing one is removed first, so it cannot keep a wider mode.
     */
    public static Path createEmptyPrivateFile(Path file) throws IOException {
        Files.deleteIfExists(file);
        return Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_ONLY_FILE));
    }

    private static GroupPrincipal serverGroup(Path dir) throws IOException {
        try {
            return dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(SERVER_GROUP);
        } catch (UserPrincipalNotFoundException e) {
            return null; // no postgres group: PostgreSQL cannot run as root anyway (it says so)
        }
    }

    static boolean isRoot() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException | UnsupportedOperationException e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }
}
