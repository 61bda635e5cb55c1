package dev.strata.pageserver.layer;

import java.nio.file.Path;

/**
 * A layer file that cannot be trusted: foreign, truncated, of an unknown version, or failing
 * a checksum. The message names the file and the byte offset where the problem was found.
 */
public final class CorruptLayerException extends RuntimeException {

    private final Path file;
    private final long offset;

    public CorruptLayerException(Path file, long offset, String problem) {
        super("layer file " + file + ": at offset " + offset + ": " + problem);
        this.file = file;
        this.offset = offset;
    }

    public Path file() {
        return file;
    }

    public long offset() {
        return offset;
    }
}
