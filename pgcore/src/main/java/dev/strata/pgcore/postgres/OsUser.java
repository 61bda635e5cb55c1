package dev.strata.pgcore.postgres;

import java.io.IOException;
import java.io.UncheckedIOException;
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
import java.util.stream.Stream;

/**
 * PostgreSQL refuses to run as root. When this JVM is root (CI, these machines), server
 * processes run as the unprivileged {@value #SERVER_USER} user through {@code setpriv}, which
 * execs in place, so the process we start is the postmaster itself and a kill reaches it.
 */
final class OsUser {

    static final String SERVER_USER = "postgres";

    private OsUser() {
    }

    static boolean isRoot() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException | UnsupportedOperationException e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }

    /** {@code command}, run as the server user when we are root. */
    static List<String> asServerUser(List<String> command) {
        if (!isRoot()) {
            return command;
        }
        List<String> wrapped = new ArrayList<>(List.of("setpriv", "--reuid=" + SERVER_USER,
                "--regid=" + SERVER_USER, "--init-groups", "--"));
        wrapped.addAll(command);
        return wrapped;
    }

    /** Gives {@code dir} and everything below it to the server user (no-op unless root). */
    static void handOver(Path dir) {
        if (!isRoot()) {
            return;
        }
        try {
            UserPrincipalLookupService lookup = dir.getFileSystem().getUserPrincipalLookupService();
            UserPrincipal user = lookup.lookupPrincipalByName(SERVER_USER);
            GroupPrincipal group = lookup.lookupPrincipalByGroupName(SERVER_USER);
            try (Stream<Path> paths = Files.walk(dir)) {
                for (Path p : paths.toList()) {
                    PosixFileAttributeView view = Files.getFileAttributeView(p, PosixFileAttributeView.class,
                            java.nio.file.LinkOption.NOFOLLOW_LINKS);
                    view.setOwner(user);
                    view.setGroup(group);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not hand " + dir + " to user " + SERVER_USER
                    + " (PostgreSQL refuses to run as root; does that user exist?)", e);
        }
    }

    /**
     * When root, lets the server user traverse every ancestor of {@code dir} (adds only the
     * execute bit: enter, not list), so that a data directory under, say, a 0700 temporary
     * directory can be used by the unprivileged server process. An ancestor the server user
     * can already enter as its owner or through its group is left as it is: the local
     * cluster's data directory is {@code rwx--x---} group {@value #SERVER_USER} precisely so
     * that nobody else can enter it (decision 0013).
     */
    static void makeReachable(Path dir) throws IOException {
        if (!isRoot()) {
            return;
        }
        for (Path p = dir.toAbsolutePath().normalize(); p != null; p = p.getParent()) {
            PosixFileAttributes attrs = Files.readAttributes(p, PosixFileAttributes.class);
            Set<PosixFilePermission> perms = attrs.permissions();
            boolean serverEnters = (SERVER_USER.equals(attrs.owner().getName()) && perms.contains(PosixFilePermission.OWNER_EXECUTE))
                    || (SERVER_USER.equals(attrs.group().getName()) && perms.contains(PosixFilePermission.GROUP_EXECUTE));
            if (!serverEnters && !perms.contains(PosixFilePermission.OTHERS_EXECUTE)) {
                perms.add(PosixFilePermission.OTHERS_EXECUTE);
                Files.setPosixFilePermissions(p, perms);
            }
        }
    }

    /** Lets other users enter {@code dir} (so the server user can reach binaries under it). */
    static void makeTraversable(Path dir) throws IOException {
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(dir);
        perms.add(PosixFilePermission.GROUP_EXECUTE);
        perms.add(PosixFilePermission.OTHERS_EXECUTE);
        perms.add(PosixFilePermission.GROUP_READ);
        perms.add(PosixFilePermission.OTHERS_READ);
        Files.setPosixFilePermissions(dir, perms);
    }
}
