package dev.strata.pgcore.testing.lossyfs;

import dev.strata.pgcore.fs.FileTrees;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.StandardCopyOption;
import java.nio.file.WatchService;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A file system for crash tests that loses what was not made durable, like a machine losing
 * power: a fault injector in the spirit of LazyFS (which Jepsen uses; it needs FUSE and cannot be
 * fetched in CI), as a {@code java.nio} provider over a backing directory. Hand its paths to
 * code that uses {@code java.nio.file} ({@code Files}, {@code FileChannel.open}); then call
 * {@link #powerCut()}, and open the backing directory again with {@link #open} to see what
 * survived.
 *
 * <p>What it models (decision 0012):
 * <ul>
 *   <li>File data: every write to a regular file stays in a page cache of that file (shared by
 *       all its channels and names, so readers see it at once) until a {@code force} on any
 *       channel of the file writes it, and the file's size, to the backing file. A power cut
 *       loses every unforced write and size change, all of them (no partial write-back).</li>
 *   <li>Names: creating, deleting or renaming a file or directory is done on the backing
 *       directory at once but is durable only once its parent directory was forced
 *       ({@code FileChannel.open(dir, READ).force(true)}, as {@code CrashSafe.fsyncDirectory}
 *       does); a rename or a move across directories needs both. A power cut undoes the
 *       operations not yet durable, newest first: a created file or directory disappears with
 *       everything in it (even forced data), a deleted one comes back with its forced content,
 *       a rename goes back, and a file it replaced comes back.</li>
 *   <li>After {@link #powerCut()} every call on this file system and its channels fails with
 *       an {@link IOException}, as the disk of a dead machine would: the code under test cannot
 *       write to the surviving state by accident.</li>
 * </ul>
 * Not modelled: pages written back before a crash without a force (real kernels do that; this
 * is the worst case, which LazyFS also uses), torn pages, file attributes other than the size
 * (times, permissions are applied at once), memory-mapped files (refused), links, copies
 * (refused), and the ordering a journaling file system adds (ext4 may keep a directory entry
 * that POSIX lets it lose; this keeps the POSIX minimum).
 */
public final class LossyFileSystem extends FileSystem {

    static final Path ROOT = Path.of("/");

    private final LossyFileSystemProvider provider;
    private final Path backing;
    private final Path stash;
    private final ReentrantReadWriteLock power = new ReentrantReadWriteLock();
    private final Object names = new Object();
    private final Map<Object, PageCache> caches = new ConcurrentHashMap<>();
    private final List<PendingName> pending = new ArrayList<>();
    private final AtomicLong stashed = new AtomicLong();
    private volatile boolean dead;

    /**
     * What a power cut dropped.
     *
     * @param files files with unforced changes
     * @param pages unforced pages of {@value PageCache#PAGE} bytes
     * @param names creates, deletes and renames undone
     */
    public record Lost(int files, long pages, int names) {
    }

    /** A name operation not yet durable: how to undo it and which directories must be forced. */
    private record PendingName(String what, Set<Path> directories, IoCall<Void> undo) {
    }

    @FunctionalInterface
    interface IoCall<T> {
        T call() throws IOException;
    }

    private LossyFileSystem(Path backing) throws IOException {
        this.provider = new LossyFileSystemProvider(this);
        this.backing = backing.toAbsolutePath().normalize();
        this.stash = this.backing.resolveSibling(this.backing.getFileName() + ".lossy-stash");
        Files.createDirectories(this.backing);
        FileTrees.deleteRecursively(stash);
        Files.createDirectories(stash);
    }

    /**
     * A lossy file system over {@code backing} (created if missing), whose root {@code /} is
     * that directory. What is in it now counts as durable.
     */
    public static LossyFileSystem open(Path backing) throws IOException {
        return new LossyFileSystem(backing);
    }

    /**
     * The machine loses power: unforced writes and names not made durable are lost, and this
     * file system and its channels refuse every later call. Waits for calls in progress.
     */
    public Lost powerCut() throws IOException {
        power.writeLock().lock();
        try {
            return cut();
        } finally {
            power.writeLock().unlock();
        }
    }

    /**
     * Cuts the power at a moment when some file holds written but unforced data (so that the cut
     * drops something: under load that is between a writer's write and its force), checking
     * about every millisecond until {@code timeout}.
     *
     * @throws IllegalStateException if no such moment came in time
     */
    public Lost powerCutWhileUnforced(java.time.Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            power.writeLock().lock();
            try {
                if (caches.values().stream().anyMatch(c -> c.dirtyPages() > 0)) {
                    return cut();
                }
            } finally {
                power.writeLock().unlock();
            }
            Thread.sleep(1);
        }
        throw new IllegalStateException("no unforced write in " + this + " within " + timeout);
    }

    /** Under the write lock: drop what is not durable, undo names, refuse everything from now on. */
    private Lost cut() throws IOException {
        if (dead) {
            return new Lost(0, 0, 0);
        }
        dead = true;
        long pages = 0;
        for (PageCache c : caches.values()) {
            pages += c.dirtyPages();
        }
        int files = (int) caches.values().stream().filter(c -> !c.isClean()).count();
        int undone;
        caches.clear();
        List<String> failures = new ArrayList<>();
        synchronized (names) {
            for (int i = pending.size() - 1; i >= 0; i--) {
                PendingName p = pending.get(i);
                try {
                    p.undo().call();
                } catch (IOException | RuntimeException e) {
                    failures.add(p.what() + ": " + e);
                }
            }
            undone = pending.size();
            pending.clear();
        }
        FileTrees.deleteRecursively(stash);
        if (!failures.isEmpty()) {
            throw new IOException("lossy file system: could not undo " + failures);
        }
        return new Lost(files, pages, undone);
    }

    /** The backing directory that the root of this file system lies over. */
    public Path backingDirectory() {
        return backing;
    }

    /** How many name operations wait for a directory force (for tests of this file system). */
    public int pendingNames() {
        synchronized (names) {
            return pending.size();
        }
    }

    // ---- for the provider and channels ----

    /** Runs a call unless the power is off; a power cut waits for calls in progress. */
    <T> T io(IoCall<T> call) throws IOException {
        power.readLock().lock();
        try {
            if (dead) {
                throw new IOException("lossy file system over " + backing + ": the power was cut");
            }
            return call.call();
        } finally {
            power.readLock().unlock();
        }
    }

    Path toBacking(Path p) {
        if (!(p instanceof LossyPath lp) || lp.getFileSystem() != this) {
            throw new java.nio.file.ProviderMismatchException("not a path of " + this + ": " + p);
        }
        Path abs = ROOT.resolve(lp.syntax()).normalize();
        return backing.resolve(ROOT.relativize(abs).toString());
    }

    LossyPath fromBacking(Path real) {
        return new LossyPath(this, ROOT.resolve(backing.relativize(real).toString()));
    }

    /** The page cache of a file; without {@code create}, a pass-through view when it has none. */
    PageCache cache(Object inode, FileChannel backingChannel, boolean create) throws IOException {
        PageCache c = caches.get(inode);
        if (c != null) {
            return c;
        }
        if (!create) {
            return new PageCache(backingChannel.size());
        }
        long size = backingChannel.size();
        return caches.computeIfAbsent(inode, k -> new PageCache(size));
    }

    void dropCleanCache(Object inode) {
        caches.computeIfPresent(inode, (k, c) -> c.isClean() ? null : c);
    }

    void forgetCache(Object inode) {
        if (inode != null) {
            caches.remove(inode);
        }
    }

    Object names() {
        return names;
    }

    /** Records a name operation in {@code dirs} (backing paths) that a power cut undoes unless they are forced. */
    void pendingName(String what, Set<Path> dirs, IoCall<Void> undo) {
        synchronized (names) {
            pending.add(new PendingName(what, new HashSet<>(dirs), undo));
        }
    }

    /** A directory was forced: the name operations in it are durable as far as it is concerned. */
    void directorySynced(Path dir) {
        Path d = dir.normalize();
        synchronized (names) {
            pending.removeIf(p -> {
                p.directories().remove(d);
                return p.directories().isEmpty();
            });
        }
    }

    /**
     * Moves a file or directory aside (a delete or a replaced rename target) so that a power cut
     * can bring it back. Stashed files stay until the power cut even once their delete is
     * durable: page caches are keyed by inode, and a freed inode number could be given to a new
     * file while a channel of the deleted one is still open.
     */
    Path moveToStash(Path real) throws IOException {
        Path aside = stash.resolve(stashed.incrementAndGet() + "-" + real.getFileName());
        Files.move(real, aside, StandardCopyOption.ATOMIC_MOVE);
        return aside;
    }

    // ---- FileSystem ----

    @Override
    public LossyFileSystemProvider provider() {
        return provider;
    }

    @Override
    public void close() {
        // Nothing to release: channels close themselves; the backing directory stays.
    }

    @Override
    public boolean isOpen() {
        return !dead;
    }

    @Override
    public boolean isReadOnly() {
        return false;
    }

    @Override
    public String getSeparator() {
        return "/";
    }

    @Override
    public Iterable<Path> getRootDirectories() {
        return List.of(new LossyPath(this, ROOT));
    }

    @Override
    public Iterable<FileStore> getFileStores() {
        try {
            return List.of(Files.getFileStore(backing));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Override
    public Set<String> supportedFileAttributeViews() {
        return Set.of("basic");
    }

    @Override
    public Path getPath(String first, String... more) {
        return new LossyPath(this, Path.of(first, more));
    }

    @Override
    public PathMatcher getPathMatcher(String syntaxAndPattern) {
        PathMatcher m = ROOT.getFileSystem().getPathMatcher(syntaxAndPattern);
        return p -> p instanceof LossyPath lp && m.matches(lp.syntax());
    }

    @Override
    public UserPrincipalLookupService getUserPrincipalLookupService() {
        throw new UnsupportedOperationException("not modelled by the lossy file system");
    }

    @Override
    public WatchService newWatchService() {
        throw new UnsupportedOperationException("not modelled by the lossy file system");
    }

    @Override
    public String toString() {
        return "lossy file system over " + backing;
    }
}
