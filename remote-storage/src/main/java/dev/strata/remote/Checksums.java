package dev.strata.remote;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/** CRC-32C of files and byte arrays: what the remote index records and downloads verify. */
public final class Checksums {

    private Checksums() {
    }

    public static int crc32c(byte[] bytes) {
        CRC32C c = new CRC32C();
        c.update(bytes);
        return (int) c.getValue();
    }

    public static int crc32c(Path file) {
        CRC32C c = new CRC32C();
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                c.update(buf, 0, n);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        return (int) c.getValue();
    }

    /** As S3 and the index write it: 8 lowercase hex digits. */
    public static String hex(int crc) {
        return String.format("%08x", crc);
    }
}
