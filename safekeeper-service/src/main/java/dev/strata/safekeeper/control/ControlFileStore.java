package dev.strata.safekeeper.control;

import dev.strata.pgcore.fs.CrashSafe;
import dev.strata.pgcore.fs.Fsync;
import dev.strata.safekeeper.election.Acceptor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Reads and atomically replaces one timeline's control file ({@value #FILE_NAME} in the
 * timeline directory). {@link #persist} returns only once the new state is durable, so a
 * vote or a term history change can be acknowledged right after it. A failed persist (a full
 * disk, a failed fsync) throws and leaves the previous file in place; since every persist writes
 * the whole state from memory into a fresh temporary file, trying again later never relies on
 * pages a failed fsync may have dropped (decision 0010).
 */
public final class ControlFileStore implements Acceptor.StateStore {

    public static final String FILE_NAME = "safekeeper.control";

    private final Path file;
    private final Fsync fsync;

    public ControlFileStore(Path timelineDir) {
        this(timelineDir, Fsync.SYSTEM);
    }

    public ControlFileStore(Path timelineDir, Fsync fsync) {
        this.file = timelineDir.resolve(FILE_NAME);
        this.fsync = fsync;
    }

    /** The stored state, or empty if this timeline has no control file yet. */
    public Optional<SafekeeperState> load() {
        try {
            CrashSafe.removeLeftover(file);
            if (!Files.exists(file)) {
                return Optional.empty();
            }
            try {
                return Optional.of(ControlFileCodec.decode(Files.readAllBytes(file)));
            } catch (ControlFileException e) {
                throw new ControlFileException(file + ": " + e.getMessage());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not read " + file, e);
        }
    }

    @Override
    public void persist(SafekeeperState state) {
        try {
            CrashSafe.writeAtomically(fsync, file, ControlFileCodec.encode(state));
        } catch (IOException e) {
            throw new UncheckedIOException("could not persist " + file + ": " + e.getMessage(), e);
        }
    }

    public Path file() {
        return file;
    }
}
