package dev.strata.pgcore.fs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The one place that makes file changes survive a crash (power loss, kill -9).
 *
 * <p>{@link #writeAtomically} replaces a file so that after a crash a reader sees either the
 * old content or the new content, never a mix or nothing: write a temporary file in the same
 * directory, fsync it, rename it over the target, fsync the directory (the rename itself is
 * directory metadata). {@link #fsyncDirectory} makes a create, rename or delete in a directory
 * durable. Anything that needs durability goes through here or through a WAL writer that
 * forces its own channel; nobody else calls {@code force}.
 */
public final class CrashSafe {

    private static final String TEMP_SUFFIX = ".strata-tmp";

    private CrashSafe() {
    }

    /** Atomically and durably replaces {@code target} with {@code content}. */
    public static void writeAtomically(Path target, byte[] content) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path temp = dir.resolve(target.getFileName() + TEMP_SUFFIX);
        try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.wrap(content);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.deleteIfExists(temp);
            throw new IOException("the file system of " + dir + " cannot rename atomically; it cannot hold Strata state", e);
        }
        fsyncDirectory(dir);
    }

    /** Makes entries created, renamed or deleted in {@code dir} durable. */
    public static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
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
