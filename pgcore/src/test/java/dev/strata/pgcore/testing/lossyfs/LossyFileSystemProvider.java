package dev.strata.pgcore.testing.lossyfs;

import dev.strata.pgcore.fs.FileTrees;
import java.io.IOException;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.spi.FileSystemProvider;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The provider of one {@link LossyFileSystem}: file operations on its backing directory, with
 * file data held in page caches until forced and name operations undone at a power cut unless
 * their directory was forced. Not registered with the JDK: a lossy file system is made with
 * {@link LossyFileSystem#open}, and its paths carry this provider.
 */
final class LossyFileSystemProvider extends FileSystemProvider {

    static final String SCHEME = "lossy";

    private final LossyFileSystem fs;

    LossyFileSystemProvider(LossyFileSystem fs) {
        this.fs = fs;
    }

    @Override
    public String getScheme() {
        return SCHEME;
    }

    @Override
    public FileSystem newFileSystem(URI uri, Map<String, ?> env) {
        throw new UnsupportedOperationException("use LossyFileSystem.open");
    }

    @Override
    public FileSystem getFileSystem(URI uri) {
        throw new UnsupportedOperationException("use LossyFileSystem.open");
    }

    @Override
    public Path getPath(URI uri) {
        throw new UnsupportedOperationException("use LossyFileSystem.getPath");
    }

    @Override
    public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        return newFileChannel(path, options, attrs);
    }

    @Override
    public FileChannel newFileChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        Path real = fs.toBacking(path);
        return fs.io(() -> {
            Set<OpenOption> opts = new HashSet<>(options);
            for (OpenOption o : List.of(StandardOpenOption.SYNC, StandardOpenOption.DSYNC,
                    StandardOpenOption.DELETE_ON_CLOSE)) {
                if (opts.contains(o)) {
                    throw new UnsupportedOperationException(o + " is not modelled by the lossy file system");
                }
            }
            boolean truncate = opts.remove(StandardOpenOption.TRUNCATE_EXISTING);
            boolean append = opts.remove(StandardOpenOption.APPEND);
            boolean write = opts.contains(StandardOpenOption.WRITE) || append;
            boolean read = opts.contains(StandardOpenOption.READ) || !write;
            if (append) {
                opts.add(StandardOpenOption.WRITE);
            }
            opts.add(StandardOpenOption.READ); // the page cache reads pages in before writing into them
            if (Files.isDirectory(real)) {
                if (write) {
                    throw new IOException("Is a directory: " + path);
                }
                return LossyFileChannel.directory(fs, real);
            }
            synchronized (fs.names()) {
                boolean existed = Files.exists(real, LinkOption.NOFOLLOW_LINKS);
                FileChannel ch = FileChannel.open(real, opts, attrs);
                if (!existed) {
                    fs.pendingName("create " + real, Set.of(real.getParent()), () -> {
                        Files.deleteIfExists(real);
                        return null;
                    });
                }
                Object inode = Files.readAttributes(real, BasicFileAttributes.class).fileKey();
                if (truncate && write) {
                    fs.cache(inode, ch, true).truncate(0);
                }
                return LossyFileChannel.file(fs, ch, inode, read, write, append);
            }
        });
    }

    @Override
    public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter)
            throws IOException {
        Path real = fs.toBacking(dir);
        List<Path> entries = fs.io(() -> {
            List<Path> out = new ArrayList<>();
            try (Stream<Path> s = Files.list(real)) {
                for (Path p : s.toList()) {
                    Path lossy = dir.resolve(p.getFileName().toString());
                    if (filter.accept(lossy)) {
                        out.add(lossy);
                    }
                }
            }
            return out;
        });
        return new DirectoryStream<>() {
            @Override
            public Iterator<Path> iterator() {
                return entries.iterator();
            }

            @Override
            public void close() {
            }
        };
    }

    @Override
    public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
        Path real = fs.toBacking(dir);
        fs.io(() -> {
            synchronized (fs.names()) {
                Files.createDirectory(real, attrs);
                fs.pendingName("mkdir " + real, Set.of(real.getParent()), () -> {
                    FileTrees.deleteRecursively(real);
                    return null;
                });
            }
            return null;
        });
    }

    @Override
    public void delete(Path path) throws IOException {
        Path real = fs.toBacking(path);
        fs.io(() -> {
            synchronized (fs.names()) {
                BasicFileAttributes a = Files.readAttributes(real, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (a.isDirectory()) {
                    try (Stream<Path> s = Files.list(real)) {
                        if (s.findAny().isPresent()) {
                            throw new DirectoryNotEmptyException(path.toString());
                        }
                    }
                }
                Path aside = fs.moveToStash(real);
                fs.forgetCache(a.fileKey());
                fs.pendingName("delete " + real, Set.of(real.getParent()), () -> {
                    Files.move(aside, real, StandardCopyOption.ATOMIC_MOVE);
                    return null;
                });
            }
            return null;
        });
    }

    @Override
    public void copy(Path source, Path target, CopyOption... options) {
        throw new UnsupportedOperationException("copies are not modelled by the lossy file system");
    }

    @Override
    public void move(Path source, Path target, CopyOption... options) throws IOException {
        Path from = fs.toBacking(source);
        Path to = fs.toBacking(target);
        boolean replace = List.of(options).contains(StandardCopyOption.REPLACE_EXISTING);
        fs.io(() -> {
            synchronized (fs.names()) {
                if (!Files.exists(from, LinkOption.NOFOLLOW_LINKS)) {
                    throw new NoSuchFileException(source.toString());
                }
                Path replaced = null;
                if (Files.exists(to, LinkOption.NOFOLLOW_LINKS)) {
                    if (!replace) {
                        throw new FileAlreadyExistsException(target.toString());
                    }
                    if (Files.isDirectory(to)) {
                        try (Stream<Path> s = Files.list(to)) {
                            if (s.findAny().isPresent()) {
                                throw new DirectoryNotEmptyException(target.toString());
                            }
                        }
                    }
                    replaced = fs.moveToStash(to);
                }
                Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
                Path old = replaced;
                fs.pendingName("rename " + from + " to " + to, new HashSet<>(List.of(from.getParent(), to.getParent())), () -> {
                    Files.move(to, from, StandardCopyOption.ATOMIC_MOVE);
                    if (old != null) {
                        Files.move(old, to, StandardCopyOption.ATOMIC_MOVE);
                    }
                    return null;
                });
            }
            return null;
        });
    }

    @Override
    public boolean isSameFile(Path path, Path path2) throws IOException {
        return fs.io(() -> Files.isSameFile(fs.toBacking(path), fs.toBacking(path2)));
    }

    @Override
    public boolean isHidden(Path path) throws IOException {
        return fs.io(() -> Files.isHidden(fs.toBacking(path)));
    }

    @Override
    public FileStore getFileStore(Path path) throws IOException {
        return fs.io(() -> Files.getFileStore(fs.toBacking(path)));
    }

    @Override
    public void checkAccess(Path path, AccessMode... modes) throws IOException {
        Path real = fs.toBacking(path);
        fs.io(() -> {
            real.getFileSystem().provider().checkAccess(real, modes);
            return null;
        });
    }

    @Override
    public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
        return Files.getFileAttributeView(fs.toBacking(path), type, options);
    }

    @Override
    @SuppressWarnings("unchecked")
    public <A extends BasicFileAttributes> A readAttributes(Path path, Class<A> type, LinkOption... options)
            throws IOException {
        Path real = fs.toBacking(path);
        return fs.io(() -> {
            A a = Files.readAttributes(real, type, options);
            if (type != BasicFileAttributes.class || !a.isRegularFile()) {
                return a;
            }
            long size;
            try (FileChannel ch = FileChannel.open(real, StandardOpenOption.READ)) {
                size = fs.cache(a.fileKey(), ch, false).size();
            }
            return (A) new SizedAttributes(a, size);
        });
    }

    @Override
    public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options) throws IOException {
        return fs.io(() -> Files.readAttributes(fs.toBacking(path), attributes, options));
    }

    @Override
    public void setAttribute(Path path, String attribute, Object value, LinkOption... options) throws IOException {
        fs.io(() -> Files.setAttribute(fs.toBacking(path), attribute, value, options));
    }

    /** A regular file's attributes with the size its writers see (the page cache's). */
    private record SizedAttributes(BasicFileAttributes a, long size) implements BasicFileAttributes {
        @Override
        public FileTime lastModifiedTime() {
            return a.lastModifiedTime();
        }

        @Override
        public FileTime lastAccessTime() {
            return a.lastAccessTime();
        }

        @Override
        public FileTime creationTime() {
            return a.creationTime();
        }

        @Override
        public boolean isRegularFile() {
            return true;
        }

        @Override
        public boolean isDirectory() {
            return false;
        }

        @Override
        public boolean isSymbolicLink() {
            return false;
        }

        @Override
        public boolean isOther() {
            return false;
        }

        @Override
        public Object fileKey() {
            return a.fileKey();
        }
    }
}
