package dev.strata.pgcore.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real, size-limited file system for disk-full tests: a tmpfs of a few megabytes mounted on a
 * fresh directory, so writes fail with the kernel's own ENOSPC ("No space left on device").
 * {@link #fill()} takes the remaining space with a ballast file and {@link #free()} gives it
 * back, so a test can fill the disk under a running store and free it again. {@link #close()}
 * unmounts (lazily, so a file a failed test left open cannot keep it mounted) and removes the
 * mount point.
 *
 * <p>Needs root (mount), which CI and the development machines have: tests run as root.
 */
public final class SmallFilesystem implements AutoCloseable {

    private static final String BALLAST = ".ballast";

    private final Path mountPoint;

    private SmallFilesystem(Path mountPoint) {
        this.mountPoint = mountPoint;
    }

    /** Mounts a tmpfs of {@code megabytes} MiB on a new directory under {@code parent}. */
    public static SmallFilesystem mount(Path parent, int megabytes) {
        try {
            Path dir = Files.createTempDirectory(parent, "small-fs-");
            run("mount", "-t", "tmpfs", "-o", "size=" + megabytes + "m,mode=0755", "tmpfs", dir.toString());
            return new SmallFilesystem(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot mount a " + megabytes + " MiB tmpfs under " + parent, e);
        }
    }

    /**
     * Mounts a tmpfs of {@code megabytes} MiB on {@code dir} itself (created if missing, must be
     * empty), e.g. the data directory a child process is about to be given.
     */
    public static SmallFilesystem mountAt(Path dir, int megabytes) {
        try {
            Files.createDirectories(dir);
            run("mount", "-t", "tmpfs", "-o", "size=" + megabytes + "m,mode=0755", "tmpfs", dir.toString());
            return new SmallFilesystem(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot mount a " + megabytes + " MiB tmpfs on " + dir, e);
        }
    }

    /** The mounted directory: everything below it shares the size limit. */
    public Path root() {
        return mountPoint;
    }

    /** Bytes still free on the file system. */
    public long freeBytes() {
        try {
            return Files.getFileStore(mountPoint).getUsableSpace();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Fills the file system to the last page (ballast file), leaving {@code leaveBytes}
     * (rounded down to whole pages) free.
     */
    public void fill(long leaveBytes) {
        Path ballast = mountPoint.resolve(BALLAST);
        byte[] chunk = new byte[64 * 1024];
        try (var out = Files.newOutputStream(ballast, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.APPEND)) {
            long toWrite = freeBytes() - leaveBytes;
            while (toWrite > 0) {
                int n = (int) Math.min(chunk.length, toWrite);
                out.write(chunk, 0, n);
                toWrite -= n;
            }
        } catch (IOException e) {
            if (!String.valueOf(e.getMessage()).contains("No space left")) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** Fills the file system completely. */
    public void fill() {
        fill(0);
    }

    /** Deletes the ballast that {@link #fill} wrote. */
    public void free() {
        try {
            Files.deleteIfExists(mountPoint.resolve(BALLAST));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        try {
            run("umount", "-l", mountPoint.toString());
            Files.deleteIfExists(mountPoint);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot unmount " + mountPoint, e);
        }
    }

    private static void run(String... command) throws IOException {
        Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish within 60 s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", command), e);
        }
        String out = new String(p.getInputStream().readAllBytes());
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed with exit code " + p.exitValue() + ": " + out.strip());
        }
    }
}
