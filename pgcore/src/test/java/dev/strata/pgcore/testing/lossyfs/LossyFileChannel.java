package dev.strata.pgcore.testing.lossyfs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;

/**
 * A channel of a {@link LossyFileSystem}: a regular file, whose writes stay in the file's
 * {@link PageCache} until {@link #force}, or a directory, opened only to be forced (which
 * makes the entries created, renamed or deleted in it durable). Every call fails once the
 * file system lost power.
 */
final class LossyFileChannel extends FileChannel {

    private final LossyFileSystem fs;
    private final FileChannel backing;   // null for a directory
    private final Object inode;
    private final Path directory;        // backing path of the directory, or null
    private final boolean readable;
    private final boolean writable;
    private final boolean append;
    private long position;

    private LossyFileChannel(LossyFileSystem fs, FileChannel backing, Object inode, Path directory, boolean readable,
                             boolean writable, boolean append) {
        this.fs = fs;
        this.backing = backing;
        this.inode = inode;
        this.directory = directory;
        this.readable = readable;
        this.writable = writable;
        this.append = append;
    }

    static LossyFileChannel file(LossyFileSystem fs, FileChannel backing, Object inode, boolean readable,
                                 boolean writable, boolean append) {
        return new LossyFileChannel(fs, backing, inode, null, readable, writable, append);
    }

    static LossyFileChannel directory(LossyFileSystem fs, Path backingDir) {
        return new LossyFileChannel(fs, null, null, backingDir, true, false, false);
    }

    private FileChannel fileOnly() throws IOException {
        if (backing == null) {
            throw new IOException("Is a directory: " + directory);
        }
        return backing;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        return fs.io(() -> {
            int n = read0(dst, position);
            if (n > 0) {
                position += n;
            }
            return n;
        });
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        long total = 0;
        for (int i = offset; i < offset + length; i++) {
            int n = read(dsts[i]);
            if (n < 0) {
                return total == 0 ? -1 : total;
            }
            total += n;
            if (dsts[i].hasRemaining()) {
                break;
            }
        }
        return total;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        return fs.io(() -> {
            long at = append ? fs.cache(inode, fileOnly(), false).size() : position;
            int n = write0(src, at);
            position = at + n;
            return n;
        });
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        long total = 0;
        for (int i = offset; i < offset + length; i++) {
            total += write(srcs[i]);
        }
        return total;
    }

    @Override
    public long position() throws IOException {
        return fs.io(() -> position);
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
        if (newPosition < 0) {
            throw new IllegalArgumentException("negative position " + newPosition);
        }
        fs.io(() -> position = newPosition);
        return this;
    }

    @Override
    public long size() throws IOException {
        return fs.io(() -> fs.cache(inode, fileOnly(), false).size());
    }

    @Override
    public FileChannel truncate(long size) throws IOException {
        if (!writable) {
            throw new NonWritableChannelException();
        }
        fs.io(() -> {
            fs.cache(inode, fileOnly(), true).truncate(size);
            position = Math.min(position, size);
            return null;
        });
        return this;
    }

    @Override
    public void force(boolean metaData) throws IOException {
        fs.io(() -> {
            if (backing == null) {
                fs.directorySynced(directory);
            } else {
                fs.cache(inode, backing, false).force(backing, metaData);
                fs.dropCleanCache(inode);
            }
            return null;
        });
    }

    @Override
    public long transferTo(long pos, long count, WritableByteChannel target) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(count, 64 * 1024));
        long done = 0;
        while (done < count) {
            buf.clear().limit((int) Math.min(buf.capacity(), count - done));
            int n = read(buf, pos + done);
            if (n <= 0) {
                break;
            }
            buf.flip();
            while (buf.hasRemaining()) {
                target.write(buf);
            }
            done += n;
        }
        return done;
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long pos, long count) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(count, 64 * 1024));
        long done = 0;
        while (done < count) {
            buf.clear().limit((int) Math.min(buf.capacity(), count - done));
            int n = src.read(buf);
            if (n <= 0) {
                break;
            }
            buf.flip();
            done += write(buf, pos + done);
        }
        return done;
    }

    @Override
    public int read(ByteBuffer dst, long pos) throws IOException {
        return fs.io(() -> read0(dst, pos));
    }

    @Override
    public int write(ByteBuffer src, long pos) throws IOException {
        return fs.io(() -> write0(src, pos));
    }

    private int read0(ByteBuffer dst, long pos) throws IOException {
        if (!readable) {
            throw new NonReadableChannelException();
        }
        return fs.cache(inode, fileOnly(), false).read(backing, dst, pos);
    }

    private int write0(ByteBuffer src, long pos) throws IOException {
        if (!writable) {
            throw new NonWritableChannelException();
        }
        return fs.cache(inode, fileOnly(), true).write(backing, src, pos);
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long pos, long size) {
        throw new UnsupportedOperationException("memory-mapped files are not modelled by the lossy file system");
    }

    @Override
    public FileLock lock(long pos, long size, boolean shared) throws IOException {
        return fileOnly().lock(pos, size, shared);
    }

    @Override
    public FileLock tryLock(long pos, long size, boolean shared) throws IOException {
        return fileOnly().tryLock(pos, size, shared);
    }

    @Override
    protected void implCloseChannel() throws IOException {
        if (backing != null) {
            backing.close();
        }
    }
}
