package dev.strata.compute.basebackup;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Unpacks a basebackup tar into an empty directory. The archive comes over the network, so
 * it is treated as untrusted: only plain files and directories, only relative paths that
 * stay inside the target, and a bound on the total size.
 */
public final class TarUnpacker {

    /** Result of an unpack: how much arrived. */
    public record Unpacked(long files, long bytes) {
    }

    /** Progress while unpacking (called after each file). */
    @FunctionalInterface
    public interface Progress {
        void update(long files, long bytes);
    }

    private final long maxBytes;

    /** @param maxBytes refuse archives whose files add up to more than this */
    public TarUnpacker(long maxBytes) {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("maxBytes must be positive, got " + maxBytes);
        }
        this.maxBytes = maxBytes;
    }

    public Unpacked unpack(InputStream tar, Path target, Progress progress) throws IOException {
        Files.createDirectories(target);
        try (var listing = Files.list(target)) {
            if (listing.findAny().isPresent()) {
                throw new IOException("refusing to unpack into non-empty directory " + target);
            }
        }
        Path root = target.toAbsolutePath().normalize();
        long files = 0;
        long bytes = 0;
        byte[] buf = new byte[64 * 1024];
        TarArchiveInputStream in = new TarArchiveInputStream(tar);
        for (TarArchiveEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
            Path dest = root.resolve(e.getName()).normalize();
            if (e.getName().startsWith("/") || !dest.startsWith(root) || dest.equals(root) && !e.isDirectory()) {
                throw new IOException("basebackup entry '" + e.getName() + "' points outside the data directory");
            }
            if (e.isDirectory()) {
                Files.createDirectories(dest);
                continue;
            }
            if (!e.isFile() || e.isSymbolicLink() || e.isLink() || e.isCharacterDevice() || e.isBlockDevice()
                    || e.isFIFO()) {
                throw new IOException("basebackup entry '" + e.getName() + "' is not a plain file or directory");
            }
            if (e.getSize() < 0 || bytes + e.getSize() > maxBytes) {
                throw new IOException("basebackup is larger than the limit of " + maxBytes + " bytes (entry '"
                        + e.getName() + "')");
            }
            Files.createDirectories(dest.getParent());
            try (OutputStream out = Files.newOutputStream(dest, StandardOpenOption.CREATE_NEW)) {
                long left = e.getSize();
                while (left > 0) {
                    int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                    if (n < 0) {
                        throw new IOException("basebackup ended inside '" + e.getName() + "' (" + left
                                + " bytes missing)");
                    }
                    out.write(buf, 0, n);
                    left -= n;
                }
            }
            files++;
            bytes += e.getSize();
            progress.update(files, bytes);
        }
        if (files == 0) {
            throw new IOException("basebackup archive is empty");
        }
        return new Unpacked(files, bytes);
    }
}
