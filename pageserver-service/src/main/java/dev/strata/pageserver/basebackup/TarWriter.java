package dev.strata.pageserver.basebackup;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A streaming POSIX ustar writer: 512-byte headers, contents padded to 512 bytes, two zero
 * blocks at the end. Enough for a data directory (paths under 100 bytes, files under 8 GiB);
 * anything else is refused rather than written in an extension format.
 */
final class TarWriter {

    static final int BLOCK = 512;
    /** ustar's 11 octal digits. */
    static final long MAX_FILE_SIZE = 077777777777L;
    private static final byte[] ZEROS = new byte[BLOCK];

    private final OutputStream out;
    private final long mtime;
    private long remaining;
    private long entrySize;
    private long bytesWritten;

    TarWriter(OutputStream out, long mtimeSeconds) {
        this.out = out;
        this.mtime = mtimeSeconds;
    }

    void directory(String path) throws IOException {
        String name = path.endsWith("/") ? path : path + "/";
        header(name, 0, '5', 0700);
    }

    /** Starts a file of exactly {@code size} bytes; write them with {@link #write}, then {@link #endFile}. */
    void beginFile(String path, long size) throws IOException {
        if (remaining != 0) {
            throw new IllegalStateException("previous tar entry is missing " + remaining + " bytes");
        }
        if (size < 0 || size > MAX_FILE_SIZE) {
            throw new IllegalArgumentException("tar entry " + path + ": size " + size + " out of ustar range");
        }
        header(path, size, '0', 0600);
        remaining = size;
        entrySize = size;
    }

    void write(byte[] b, int off, int len) throws IOException {
        if (len > remaining) {
            throw new IllegalStateException("tar entry overflow: " + len + " bytes written, " + remaining + " left");
        }
        out.write(b, off, len);
        remaining -= len;
        bytesWritten += len;
    }

    void write(byte[] b) throws IOException {
        write(b, 0, b.length);
    }

    void endFile() throws IOException {
        if (remaining != 0) {
            throw new IllegalStateException("tar entry is missing " + remaining + " bytes");
        }
        int pad = (int) ((BLOCK - entrySize % BLOCK) % BLOCK);
        out.write(ZEROS, 0, pad);
        bytesWritten += pad;
    }

    void file(String path, byte[] content) throws IOException {
        beginFile(path, content.length);
        write(content);
        endFile();
    }

    void finish() throws IOException {
        out.write(ZEROS);
        out.write(ZEROS);
        bytesWritten += 2 * BLOCK;
        out.flush();
    }

    long bytesWritten() {
        return bytesWritten;
    }

    private void header(String name, long size, char type, int mode) throws IOException {
        byte[] nameBytes = name.getBytes(StandardCharsets.US_ASCII);
        if (nameBytes.length > 100) {
            throw new IllegalArgumentException("tar path longer than 100 bytes: " + name);
        }
        byte[] h = new byte[BLOCK];
        System.arraycopy(nameBytes, 0, h, 0, nameBytes.length);
        octal(h, 100, 8, mode);
        octal(h, 108, 8, 0);
        octal(h, 116, 8, 0);
        octal(h, 124, 12, size);
        octal(h, 136, 12, mtime);
        for (int i = 148; i < 156; i++) {
            h[i] = ' ';
        }
        h[156] = (byte) type;
        System.arraycopy("ustar\0".getBytes(StandardCharsets.US_ASCII), 0, h, 257, 6);
        h[263] = '0';
        h[264] = '0';
        long sum = 0;
        for (byte b : h) {
            sum += b & 0xFF;
        }
        octal(h, 148, 7, sum);
        h[155] = ' ';
        out.write(h);
        bytesWritten += BLOCK;
    }

    /** {@code width - 1} octal digits, zero-padded, then NUL. */
    private static void octal(byte[] h, int off, int width, long value) {
        String s = Long.toOctalString(value);
        if (s.length() > width - 1) {
            throw new IllegalArgumentException("value " + value + " does not fit a " + width + "-byte tar field");
        }
        int pad = width - 1 - s.length();
        for (int i = 0; i < pad; i++) {
            h[off + i] = '0';
        }
        for (int i = 0; i < s.length(); i++) {
            h[off + pad + i] = (byte) s.charAt(i);
        }
        h[off + width - 1] = 0;
    }
}
