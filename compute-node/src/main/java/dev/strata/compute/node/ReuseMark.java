package dev.strata.compute.node;

import dev.strata.pageserver.basebackup.BasebackupBase;
import dev.strata.pgcore.control.ControlFile;
import dev.strata.pgcore.fs.CrashSafe;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.WalReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * "This data directory is exactly the timeline at LSN X": written after a clean shutdown and
 * a sync of the directory (the compute runs with {@code fsync=off}, so nothing before the sync
 * is known to be on disk), removed before PostgreSQL is started on the directory again. A
 * directory without a valid mark is never trusted (architecture §2).
 *
 * <p>Format: a properties file, {@code timeline=<hex>} and {@code lsn=X/Y} (the end of the
 * shutdown checkpoint record), replaced atomically.
 */
final class ReuseMark {

    private ReuseMark() {
    }

    /**
     * The end LSN of the shutdown checkpoint if PostgreSQL shut down cleanly on {@code dataDir}
     * (pg_control says "shut down" and its checkpoint record decodes from pg_wal), else null.
     */
    static Lsn cleanShutdownEnd(Path dataDir) {
        try {
            ControlFile cf = ControlFile.decode(Files.readAllBytes(dataDir.resolve("global").resolve("pg_control")));
            if (cf.state() != ControlFile.DB_SHUTDOWNED) {
                return null;
            }
            try (WalReader r = new WalReader(dataDir.resolve("pg_wal"), 1, cf.checkPoint(), null)) {
                DecodedRecord rec = r.next();
                return rec != null && rec.startLsn().equals(cf.checkPoint()) ? rec.endLsn() : null;
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Syncs the directory's file system, then writes the mark. */
    static void write(Path mark, Path dataDir, TimelineId timeline, Lsn end) {
        try {
            Process sync = new ProcessBuilder("sync", "-f", dataDir.toString()).redirectErrorStream(true).start();
            if (!sync.waitFor(Duration.ofMinutes(2).toMillis(), TimeUnit.MILLISECONDS) || sync.exitValue() != 0) {
                sync.destroyForcibly();
                throw new IllegalStateException("sync of " + dataDir + " failed");
            }
            String body = "timeline=" + timeline + "\nlsn=" + end + "\n";
            CrashSafe.writeAtomically(mark, body.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + mark, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted syncing " + dataDir, e);
        }
    }

    /**
     * Reads and removes the mark: the timeline and LSN the directory is exactly at, or null if
     * there is no valid mark. The caller decides what it is good for: a start on the same
     * timeline at the same LSN reuses the directory as it is; any other start may offer it to
     * the pageserver as the base of an incremental basebackup.
     */
    static BasebackupBase take(Path mark) {
        try {
            if (!Files.exists(mark)) {
                return null;
            }
            Properties p = new Properties();
            try (var in = Files.newInputStream(mark)) {
                p.load(in);
            }
            Files.delete(mark);
            CrashSafe.fsyncDirectory(mark.getParent());
            return new BasebackupBase(TimelineId.parse(p.getProperty("timeline")), Lsn.parse(p.getProperty("lsn")));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or remove " + mark, e);
        } catch (RuntimeException e) {
            return null; // a damaged mark means: not reusable
        }
    }
}
