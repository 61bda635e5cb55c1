package dev.strata.pgcore.fs;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * The one caller of {@link FileChannel#force}: every store that makes bytes durable (the
 * safekeeper's WAL segments and control file, the pageserver's layer and metadata files, and
 * {@link CrashSafe}) forces through an {@code Fsync} it was given, and nobody else calls
 * {@code force}. A failed force is reported as {@link FsyncFailedException}, which callers treat
 * as fatal for what they wrote (decision 0010): after a failed fsync Linux may have dropped the
 * dirty pages and marked them clean, so a retried fsync can succeed without the data ever
 * reaching the disk.
 *
 * <p>Production code uses {@link #SYSTEM}. Tests pass a fault-injecting implementation, because
 * a real fsync error (EIO from a failing disk) cannot be produced on demand.
 */
@FunctionalInterface
public interface Fsync {

    /** The operating system's fsync ({@code metadata}) or fdatasync ({@code !metadata}). */
    Fsync SYSTEM = (channel, file, metadata) -> {
        try {
            channel.force(metadata);
        } catch (IOException e) {
            throw new FsyncFailedException(file, e);
        }
    };

    /**
     * Forces {@code channel} (open on {@code file}, named in errors) to disk; with
     * {@code metadata} also the file's metadata (size, and for a directory its entries).
     *
     * @throws FsyncFailedException if the force failed: the bytes written since the last
     *                              successful force must be assumed lost
     */
    void force(FileChannel channel, Path file, boolean metadata) throws FsyncFailedException;
}
