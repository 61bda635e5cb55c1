package dev.strata.pgcore.fs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The one place that makes file changes survive a crash (power loss, kill -9).
 *
 * <p>{@link #writeAtomically} replaces a file so that after a crash a reader sees either the
 * old content or the new content, never a mix or nothing: write a temporary file in the same
 * directory, fsync it, rename it over the target, fsync the directory (the rename itself is
 * directory metadata). {@link #fsyncDirectory} makes a create, rename or delete in a directory
 * durable. Every force goes through an {@link Fsync} (the overloads without one use
 * {@link Fsync#SYSTEM}); a failed force is an {@link FsyncFailedException}.
 *
 * <p>A failed {@link #writeAtomically} leaves the target as it was (or, if only the final
 * directory fsync failed, renamed but maybe not durably); calling it again rewrites the whole
 * content from the caller's memory into a fresh temporary file, so a retry never relies on
 * pages a failed fsync may have dropped.
 */
public final class CrashSafe {

    private static final String TEMP_SUFFIX = ".strata-tmp";

    private CrashSafe() {
    }

    /** Atomically and durably replaces {@code target} with {@code content}. */
    public static void writeAtomically(Path target, byte[] content) throws IOException {
        writeAtomically(Fsync.SYSTEM, target, content, null);
    }

    /** Atomically and durably replaces {@code target} with {@code content}, forcing through {@code fsync}. */
    public static void writeAtomically(Fsync fsync, Path target, byte[] content) throws IOException {
        writeAtomically(fsync, target, content, null);
    }

    /**
     * As {@link #writeAtomically(Path, byte[])}, the file created with {@code permissions}
     * (e.g. {@code rw-------} for a secret) from its first byte: the temporary file is made
     * with them, so no moment exists in which another user could open it. Null: the umask's.
     */
    public static void writeAtomically(Path target, byte[] content, Set<PosixFilePermission> permissions)
            throws IOException {
        writeAtomically(Fsync.SYSTEM, target, content, permissions);
    }

    /** The general form: forced through {@code fsync}, created with {@code permissions} (null: the umask's). */
    public static void writeAtomically(Fsync fsync, Path target, byte[] content, Set<PosixFilePermission> permissions)
            throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path temp = dir.resolve(target.getFileName() + TEMP_SUFFIX);
        FileAttribute<?>[] attrs = new FileAttribute<?>[0];
        if (permissions != null) {
            // A leftover temporary file would keep its old mode: start from a new one.
            Files.deleteIfExists(temp);
            attrs = new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(permissions)};
        }
        try (FileChannel ch = FileChannel.open(temp, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING), attrs)) {
            ByteBuffer buf = ByteBuffer.wrap(content);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            fsync.force(ch, temp, true);
        } catch (IOException e) {
            // Out of space or a failed force: leave no half-written temp file taking space.
            Files.deleteIfExists(temp);
            throw e;
        }
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.deleteIfExists(temp);
            throw new IOException("the file system of " + dir + " cannot rename atomically; it cannot hold Strata state", e);
        }
        fsyncDirectory(fsync, dir);
    }

    /** Makes entries created, renamed or deleted in {@code dir} durable. */
    public static void fsyncDirectory(Path dir) throws IOException {
        fsyncDirectory(Fsync.SYSTEM, dir);
    }

    /** Makes entries created, renamed or deleted in {@code dir} durable, forcing through {@code fsync}. */
    public static void fsyncDirectory(Fsync fsync, Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            fsync.force(ch, dir, true);
        }
    }

    /**
     * Creates {@code dir} and any missing parents so that they survive a crash: after each
     * directory is created, its parent is fsynced (a new directory entry is durable only then;
     * fsyncs of files inside it do not make the directory itself durable).
     */
    public static void createDirectoriesDurably(Path dir) throws IOException {
        Path abs = dir.toAbsolutePath().normalize();
        java.util.ArrayDeque<Path> missing = new java.util.ArrayDeque<>();
        for (Path p = abs; p != null && !Files.isDirectory(p); p = p.getParent()) {
            missing.push(p);
        }
        while (!missing.isEmpty()) {
            Path p = missing.pop();
            try {
                Files.createDirectory(p);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                if (!Files.isDirectory(p)) {
                    throw e;
                }
            }
            fsyncDirectory(p.getParent());
        }
    }

    /** Removes a temporary file a crash left behind by {@link #writeAtomically}; true if there was one. */
    public static boolean removeLeftover(Path target) throws IOException {
        return Files.deleteIfExists(target.toAbsolutePath().getParent().resolve(target.getFileName() + TEMP_SUFFIX));
    }
}
