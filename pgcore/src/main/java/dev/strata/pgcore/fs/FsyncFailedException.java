package dev.strata.pgcore.fs;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A force of {@link #file()} failed. Fatal for the store that wrote it (decision 0010): the
 * bytes written since its last successful force may be gone from the page cache while the
 * kernel believes them clean, so the store must not force again and acknowledge; it stops, and
 * a restart trusts only what it reads back from disk.
 */
public final class FsyncFailedException extends IOException {

    private final Path file;

    public FsyncFailedException(Path file, IOException cause) {
        super("fsync of " + file + " failed (" + cause.getMessage() + "); its unforced writes may be lost", cause);
        this.file = file;
    }

    public Path file() {
        return file;
    }
}
