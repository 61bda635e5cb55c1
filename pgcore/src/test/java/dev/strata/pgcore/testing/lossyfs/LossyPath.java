package dev.strata.pgcore.testing.lossyfs;

import java.io.IOException;
import java.net.URI;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.Objects;

/**
 * A path of a {@link LossyFileSystem}. Its syntax is that of a Unix path (a default-file-system
 * path is kept only as a syntax holder, never opened); absolute paths start at the lossy file
 * system's root, which lies over its backing directory.
 */
final class LossyPath implements Path {

    private final LossyFileSystem fs;
    private final Path syntax;

    LossyPath(LossyFileSystem fs, Path syntax) {
        this.fs = fs;
        this.syntax = syntax;
    }

    Path syntax() {
        return syntax;
    }

    private LossyPath wrap(Path p) {
        return p == null ? null : new LossyPath(fs, p);
    }

    private Path unwrap(Path other) {
        if (!(other instanceof LossyPath lp) || lp.fs != fs) {
            throw new ProviderMismatchException("not a path of " + fs + ": " + other);
        }
        return lp.syntax;
    }

    @Override
    public LossyFileSystem getFileSystem() {
        return fs;
    }

    @Override
    public boolean isAbsolute() {
        return syntax.isAbsolute();
    }

    @Override
    public Path getRoot() {
        return wrap(syntax.getRoot());
    }

    @Override
    public Path getFileName() {
        return wrap(syntax.getFileName());
    }

    @Override
    public Path getParent() {
        return wrap(syntax.getParent());
    }

    @Override
    public int getNameCount() {
        return syntax.getNameCount();
    }

    @Override
    public Path getName(int index) {
        return wrap(syntax.getName(index));
    }

    @Override
    public Path subpath(int beginIndex, int endIndex) {
        return wrap(syntax.subpath(beginIndex, endIndex));
    }

    @Override
    public boolean startsWith(Path other) {
        return other instanceof LossyPath lp && lp.fs == fs && syntax.startsWith(lp.syntax);
    }

    @Override
    public boolean endsWith(Path other) {
        return other instanceof LossyPath lp && lp.fs == fs && syntax.endsWith(lp.syntax);
    }

    @Override
    public Path normalize() {
        return wrap(syntax.normalize());
    }

    @Override
    public Path resolve(Path other) {
        return wrap(syntax.resolve(unwrap(other)));
    }

    @Override
    public Path relativize(Path other) {
        return wrap(syntax.relativize(unwrap(other)));
    }

    @Override
    public URI toUri() {
        return URI.create(LossyFileSystemProvider.SCHEME + "://" + toAbsolutePath().normalize());
    }

    @Override
    public Path toAbsolutePath() {
        return isAbsolute() ? this : wrap(LossyFileSystem.ROOT.resolve(syntax));
    }

    @Override
    public Path toRealPath(LinkOption... options) throws IOException {
        fs.provider().checkAccess(this);
        return toAbsolutePath().normalize();
    }

    @Override
    public WatchKey register(WatchService watcher, WatchEvent.Kind<?>[] events, WatchEvent.Modifier... modifiers) {
        throw new UnsupportedOperationException("watching a lossy file system is not modelled");
    }

    @Override
    public int compareTo(Path other) {
        return syntax.compareTo(unwrap(other));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LossyPath lp && lp.fs == fs && lp.syntax.equals(syntax);
    }

    @Override
    public int hashCode() {
        return Objects.hash(System.identityHashCode(fs), syntax);
    }

    @Override
    public String toString() {
        return syntax.toString();
    }
}
