package dev.strata.pgcore.testing;

import dev.strata.pgcore.fs.Fsync;
import dev.strata.pgcore.fs.FsyncFailedException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * A fault-injecting {@link Fsync} for tests. This is a fake on purpose: a real fsync error (EIO
 * from a failing disk or a thin-provisioned volume) cannot be produced on demand on a test
 * machine. It forces for real until {@link #failFiles} is armed, then fails every force of a
 * matching file the way the kernel reports it (an {@link FsyncFailedException} wrapping
 * "Input/output error") without forcing, and counts the forces it was asked for.
 */
public final class FailingFsync implements Fsync {

    private volatile Predicate<Path> failing = p -> false;
    private final AtomicInteger failures = new AtomicInteger();
    private final AtomicInteger forces = new AtomicInteger();

    /** From now on every force of a file matching {@code which} fails. */
    public FailingFsync failFiles(Predicate<Path> which) {
        this.failing = which;
        return this;
    }

    /** From now on every force fails. */
    public FailingFsync failAll() {
        return failFiles(p -> true);
    }

    /** Forces succeed again (a test of what a store does when the disk "recovers"). */
    public FailingFsync heal() {
        return failFiles(p -> false);
    }

    /** How many forces failed so far. */
    public int failures() {
        return failures.get();
    }

    /** How many forces were asked for (failed or not). */
    public int forces() {
        return forces.get();
    }

    @Override
    public void force(FileChannel channel, Path file, boolean metadata) throws FsyncFailedException {
        forces.incrementAndGet();
        if (failing.test(file)) {
            failures.incrementAndGet();
            throw new FsyncFailedException(file, new IOException("Input/output error (injected by FailingFsync)"));
        }
        Fsync.SYSTEM.force(channel, file, metadata);
    }
}
