package dev.strata.pageserver.timeline;

import static dev.strata.pageserver.basebackup.BasebackupFixtures.untar;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.basebackup.Basebackup;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

/** A stock PostgreSQL primary as the branch and GC tests drive it: SQL, its insert position, its walsender. */
public final class PrimaryFixtures {

    private PrimaryFixtures() {
    }

    /** The primary's walsender as a timeline's WAL source. */
    public static WalSource source(PostgresServer pg) {
        return new WalSource(pg.host(), pg.port(), pg.user(), pg.password());
    }

    /** The end of the WAL inserted so far; on a page boundary the insert position is past the page header. */
    public static Lsn insertLsn(PostgresServer pg) throws SQLException {
        Lsn insert = Lsn.parse(query(pg, "SELECT pg_current_wal_insert_lsn()"));
        int inPage = insert.pageOffset(8192);
        if (inPage == 24 || (inPage == 40 && insert.segmentOffset(16 << 20) == 40)) {
            return insert.pageStart(8192);
        }
        return insert;
    }

    public static void execute(PostgresServer pg, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres")); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /** The first column of the first row, or null without rows. */
    public static String query(PostgresServer pg, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres")); Statement s = c.createStatement();
             ResultSet r = s.executeQuery(sql)) {
            return r.next() ? r.getString(1) : null;
        }
    }

    /**
     * A stock PG17 primary in {@code dir}, started from the timeline's basebackup at {@code lsn} (a
     * record end whose start the timeline knows), with the compute's default settings for WAL:
     * no {@code wal_consistency_checking}, so what it writes is replayed by the pageserver's redo.
     */
    public static PostgresServer computeAt(Timeline t, Lsn lsn, Path dir, String password) throws Exception {
        return computeAt(t, lsn, dir, password, "");
    }

    /** As {@link #computeAt(Timeline, Lsn, Path, String)}, with {@code wal_consistency_checking} set to {@code wcc}. */
    public static PostgresServer computeAt(Timeline t, Lsn lsn, Path dir, String password, String wcc) throws Exception {
        Lsn prev = t.prevRecordAt(lsn);
        assertThat(prev).as("start of the record ending at %s on %s", lsn, t.id()).isNotNull();
        Path tar = dir.resolveSibling(dir.getFileName() + ".tar");
        try (OutputStream out = Files.newOutputStream(tar)) {
            Basebackup.write(t.store(), t.redo(), lsn, prev, out);
        }
        untar(tar, dir);
        Files.delete(tar);
        Files.writeString(dir.resolve("postgresql.conf"), "include_if_exists = 'strata.conf'\n");
        Files.writeString(dir.resolve("pg_hba.conf"), """
                host all all 127.0.0.1/32 scram-sha-256
                host replication all 127.0.0.1/32 scram-sha-256
                """);
        return PostgresServer.builder().dataDir(dir).password(password).setting("wal_level", "replica")
                .setting("wal_consistency_checking", wcc).setting("autovacuum", "off").setting("checkpoint_timeout", "1h")
                .start();
    }

    /**
     * Flushes until the disk-consistent LSN reaches {@code lsn}, failing after {@code timeout}. A
     * freeze is taken by ingest at its next record, so with a running {@code primary} a CHECKPOINT
     * gives it one; without WAL sources (ingest stopped) the open layer is frozen directly.
     */
    public static void awaitDiskConsistent(Timeline t, Lsn lsn, PostgresServer primary, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (t.store().diskConsistentLsn().compareTo(lsn) < 0) {
            assertThat(System.nanoTime()).as("disk-consistent LSN of %s reaches %s", t.id(), lsn).isLessThan(deadline);
            if (primary == null) {
                t.store().freeze();
            }
            t.flushNow();
            if (primary != null) {
                execute(primary, "CHECKPOINT");
            }
            Thread.sleep(100);
        }
    }
}
