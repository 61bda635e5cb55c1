package dev.strata.pageserver.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.stream.Stream;

/**
 * What the oracle tests against a stock PostgreSQL 17 standby share: a standby's data directory
 * copied from the stopped primary's, connections and one-value queries, and pausing the standby's
 * replay once it has replayed up to an LSN.
 */
final class StockStandby {

    private StockStandby() {
    }

    /** Copies a stopped server's data directory (the standby's start; add {@code standby.signal}). */
    static void copyDataDir(Path from, Path to) throws IOException {
        try (Stream<Path> paths = Files.walk(from)) {
            for (Path p : paths.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }

    static Connection connect(PostgresServer pg, String db) throws Exception {
        return DriverManager.getConnection(pg.jdbcUrl(db));
    }

    /** The first column of the first row, as text. */
    static String scalar(Statement s, String sql) throws Exception {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /**
     * Waits until the standby (queried through {@code s}) has replayed up to {@code target}, then
     * pauses its replay and returns the LSN it stopped at (at or after {@code target}). Bounded by
     * {@code bound}; the standby stays paused ({@code pg_wal_replay_resume()} resumes it).
     */
    static Lsn pauseReplayAt(Statement s, Lsn target, Duration bound) throws Exception {
        long deadline = System.nanoTime() + bound.toNanos();
        while (Lsn.parse(scalar(s, "SELECT pg_last_wal_replay_lsn()")).isBefore(target)) {
            assertThat(System.nanoTime()).as("standby replay reaching " + target).isLessThan(deadline);
            Thread.sleep(20);
        }
        s.execute("SELECT pg_wal_replay_pause()");
        while (!"paused".equals(scalar(s, "SELECT pg_get_wal_replay_pause_state()"))) {
            assertThat(System.nanoTime()).as("standby pausing").isLessThan(deadline);
            Thread.sleep(20);
        }
        return Lsn.parse(scalar(s, "SELECT pg_last_wal_replay_lsn()"));
    }
}
