package dev.strata.compute.basebackup;

import dev.strata.pageserver.basebackup.BasebackupBase;
import dev.strata.pageserver.basebackup.IncrementalFormat;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Unpacks a basebackup tar into an empty directory. The archive comes over the network, so
 * it is treated as untrusted: only plain files and directories, only relative paths that
 * stay inside the target, and a bound on the total size.
 *
 * <p>An incremental basebackup ({@link IncrementalFormat}) is unpacked the same way, over a base
 * directory: each relation segment file it reuses is moved from the base into the target (a
 * rename, whatever its size), resized and patched with the pages that differ. What the base
 * still holds afterwards is what the requested point does not have; the caller deletes it.
 */
public final class TarUnpacker {

    /**
     * Result of an unpack: how much arrived; for an incremental basebackup also how many files
     * were taken over from the base and how many of their pages were rewritten.
     */
    public record Unpacked(long files, long bytes, boolean incremental, long reusedFiles, long patchedPages) {
        public Unpacked(long files, long bytes) {
            this(files, bytes, false, 0, 0);
        }
    }

    /** Largest marker entry accepted (it is two short lines). */
    private static final int MAX_MARKER_BYTES = 1024;

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
        return unpack(tar, target, null, null, progress);
    }

    /**
     * Unpacks a full or an incremental basebackup into {@code target}.
     *
     * @param baseDir directory the incremental archive applies to (its reused files are moved out
     *                of it), or null to accept only a full basebackup
     * @param base    what {@code baseDir} holds; an archive made against another base is refused
     * @throws IOException also when the base directory is not what the archive expects (a reused
     *                     file missing or of another length): the caller falls back to a full basebackup
     */
    public Unpacked unpack(InputStream tar, Path target, Path baseDir, BasebackupBase base, Progress progress)
            throws IOException {
        if ((baseDir == null) != (base == null)) {
            throw new IllegalArgumentException("an incremental unpack needs both the base directory and what it holds");
        }
        Files.createDirectories(target);
        try (var listing = Files.list(target)) {
            if (listing.findAny().isPresent()) {
                throw new IOException("refusing to unpack into non-empty directory " + target);
            }
        }
        Path root = target.toAbsolutePath().normalize();
        Path baseRoot = baseDir == null ? null : baseDir.toAbsolutePath().normalize();
        long files = 0;
        long bytes = 0;
        boolean incremental = false;
        long reused = 0;
        long patched = 0;
        boolean first = true;
        byte[] buf = new byte[64 * 1024];
        TarArchiveInputStream in = new TarArchiveInputStream(tar);
        for (TarArchiveEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
            boolean isFirst = first;
            first = false;
            String name = e.getName();
            if (isFirst && name.equals(IncrementalFormat.MARKER) && e.isFile()) {
                incremental = true;
                acceptMarker(in, e, base);
                continue;
            }
            boolean reuse = name.startsWith(IncrementalFormat.REUSE_PREFIX);
            if (reuse && !incremental) {
                throw new IOException("basebackup entry '" + name + "' patches a base, but the archive is not incremental");
            }
            String relative = reuse ? name.substring(IncrementalFormat.REUSE_PREFIX.length()) : name;
            Path dest = inside(root, relative, e.isDirectory(), name);
            if (e.isDirectory()) {
                Files.createDirectories(dest);
                continue;
            }
            if (!e.isFile() || e.isSymbolicLink() || e.isLink() || e.isCharacterDevice() || e.isBlockDevice()
                    || e.isFIFO()) {
                throw new IOException("basebackup entry '" + name + "' is not a plain file or directory");
            }
            if (e.getSize() < 0 || bytes + e.getSize() > maxBytes) {
                throw new IOException("basebackup is larger than the limit of " + maxBytes + " bytes (entry '"
                        + name + "')");
            }
            Files.createDirectories(dest.getParent());
            if (reuse) {
                patched += patch(in, e, inside(baseRoot, relative, false, name), dest);
                reused++;
            } else {
                copy(in, e, dest, buf);
            }
            files++;
            bytes += e.getSize();
            progress.update(files, bytes);
        }
        if (files == 0) {
            throw new IOException("basebackup archive is empty");
        }
        return new Unpacked(files, bytes, incremental, reused, patched);
    }

    /** The entry's path inside {@code root}; anything that would leave it is refused. */
    private static Path inside(Path root, String relative, boolean directory, String name) throws IOException {
        Path dest = root.resolve(relative).normalize();
        if (relative.startsWith("/") || !dest.startsWith(root) || dest.equals(root) && !directory) {
            throw new IOException("basebackup entry '" + name + "' points outside the data directory");
        }
        return dest;
    }

    private static void acceptMarker(TarArchiveInputStream in, TarArchiveEntry e, BasebackupBase base)
            throws IOException {
        if (base == null) {
            throw new IOException("the pageserver sent an incremental basebackup, but no base directory was offered");
        }
        if (e.getSize() > MAX_MARKER_BYTES) {
            throw new IOException("incremental marker of " + e.getSize() + " bytes is longer than " + MAX_MARKER_BYTES);
        }
        BasebackupBase against;
        try {
            against = BasebackupBase.decodeMarker(in.readNBytes((int) e.getSize()));
        } catch (IllegalArgumentException ex) {
            throw new IOException(ex.getMessage(), ex);
        }
        if (!against.equals(base)) {
            throw new IOException("the incremental basebackup applies to " + against + ", the directory here is " + base);
        }
    }

    private static void copy(TarArchiveInputStream in, TarArchiveEntry e, Path dest, byte[] buf) throws IOException {
        try (OutputStream out = Files.newOutputStream(dest, StandardOpenOption.CREATE_NEW)) {
            long left = e.getSize();
            while (left > 0) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) {
                    throw new IOException("basebackup ended inside '" + e.getName() + "' (" + left + " bytes missing)");
                }
                out.write(buf, 0, n);
                left -= n;
            }
        }
    }

    /**
     * Takes the base's segment file over (or starts an empty one where the base has none), sets
     * its length and writes the pages that differ. Returns the number of pages written.
     */
    private static long patch(TarArchiveInputStream in, TarArchiveEntry e, Path source, Path dest) throws IOException {
        String name = e.getName();
        IncrementalFormat.SegmentPatch p = IncrementalFormat.readHeader(in, e.getSize(), name);
        long baseBytes = p.baseBlocks() * IncrementalFormat.BLOCK_SIZE;
        if (p.baseBlocks() > 0) {
            // Longer is fine: blocks PostgreSQL added without WAL past the last logged one, all of
            // them at or above baseBlocks, which the entry truncates or rewrites.
            long have = Files.isRegularFile(source, LinkOption.NOFOLLOW_LINKS) ? Files.size(source) : -1;
            if (have < baseBytes) {
                throw new IOException("incremental entry '" + name + "' expects the base's file of at least "
                        + baseBytes + " bytes, the directory here has " + (have < 0 ? "none" : have + " bytes"));
            }
            Files.move(source, dest);
        } else {
            Files.createFile(dest);
        }
        byte[] page = new byte[IncrementalFormat.BLOCK_SIZE];
        try (FileChannel ch = FileChannel.open(dest, StandardOpenOption.WRITE)) {
            long length = p.blocks() * IncrementalFormat.BLOCK_SIZE;
            if (ch.size() > length) {
                ch.truncate(length);
            }
            for (long i = 0; i < p.pages(); i++) {
                int block = IncrementalFormat.readPage(in, p, page, name);
                ByteBuffer b = ByteBuffer.wrap(page);
                long at = (long) block * IncrementalFormat.BLOCK_SIZE;
                while (b.hasRemaining()) {
                    at += ch.write(b, at);
                }
            }
            if (ch.size() < length) {
                // Blocks past the base's end that no page wrote are zero, as in a full basebackup.
                extend(ch, length);
            }
        }
        return p.pages();
    }

    private static void extend(FileChannel ch, long length) throws IOException {
        ByteBuffer zero = ByteBuffer.allocate(IncrementalFormat.BLOCK_SIZE);
        for (long at = ch.size(); at < length; at += IncrementalFormat.BLOCK_SIZE) {
            zero.clear();
            while (zero.hasRemaining()) {
                ch.write(zero, at + zero.position());
            }
        }
    }
}
