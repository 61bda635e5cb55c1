package dev.strata.safekeeper.it;

import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Comparator;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A stock PostgreSQL 17 hot standby that streams from a safekeeper: how tests read back what
 * the safekeepers hold. Its data directory is a low-level base backup of the compute
 * (pg_backup_start, a file copy, pg_backup_stop's backup_label).
 */
final class Standby {

    private static final Set<String> SKIP = Set.of("postmaster.pid", "postmaster.opts", "strata.conf");

    private Standby() {
    }

    /** Copies {@code compute}'s data directory into {@code target} as an online base backup; returns its start LSN. */
    static Lsn baseBackup(PostgresServer compute, Path target) throws Exception {
        try (Connection c = DriverManager.getConnection(compute.jdbcUrl("postgres"));
             Statement s = c.createStatement()) {
            Lsn start;
            try (ResultSet rs = s.executeQuery("SELECT pg_backup_start('strata-test', true)")) {
                rs.next();
                start = Lsn.parse(rs.getString(1));
            }
            Path src = compute.dataDir();
            try (Stream<Path> files = Files.walk(src)) {
                for (Path p : files.sorted(Comparator.naturalOrder()).toList()) {
                    Path rel = src.relativize(p);
                    if (SKIP.contains(rel.toString())) {
                        continue;
                    }
                    Path dest = target.resolve(rel.toString());
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(dest);
                    } else if (!rel.startsWith("pg_wal") && !rel.startsWith("pg_replslot")) {
                        Files.copy(p, dest);
                    }
                }
            }
            try (ResultSet rs = s.executeQuery("SELECT labelfile FROM pg_backup_stop(false)")) {
                rs.next();
                Files.writeString(target.resolve("backup_label"), rs.getString(1));
            }
            return start;
        }
    }

    /** Starts a hot standby on {@code dataDir} streaming {@code timeline} from the safekeeper. */
    static PostgresServer start(Path dataDir, PostgresServer compute, SafekeeperProcess source, String password, TimelineId timeline) throws Exception {
        return start(dataDir, compute, source.walsenderPort, password, timeline);
    }

    /** Starts a hot standby on {@code dataDir} streaming {@code timeline} from the safekeeper walsender on {@code walsenderPort}. */
    static PostgresServer start(Path dataDir, PostgresServer compute, int walsenderPort, String password, TimelineId timeline) throws Exception {
        Files.writeString(dataDir.resolve("standby.signal"), "");
        String conninfo = "host=127.0.0.1 port=" + walsenderPort + " user=strata_replicator password=" + password
                + " options='-c timeline_id=" + timeline + "' application_name=reader sslmode=disable";
        return PostgresServer.builder()
                .dataDir(dataDir)
                .user(compute.user())
                .password(compute.password())
                .setting("hot_standby", "on")
                .setting("primary_conninfo", conninfo)
                .setting("wal_receiver_timeout", "10s")
                .setting("max_prepared_transactions", "10")
                .start();
    }

    /** The ids in the workload's {@code acked} table as the standby sees them (after {@link #awaitReplay}). */
    static Set<Long> ackedIds(PostgresServer standby) throws Exception {
        Set<Long> present = new java.util.HashSet<>();
        try (Connection c = DriverManager.getConnection(standby.jdbcUrl("postgres"));
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT id FROM acked")) {
            while (rs.next()) {
                present.add(rs.getLong(1));
            }
        }
        return present;
    }

    /** Waits (bounded) until the standby has replayed every record that ends at or before {@code lsn}. */
    static void awaitReplay(PostgresServer standby, Lsn lsn, long timeoutMillis) throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        Lsn replayed = Lsn.INVALID;
        while (System.currentTimeMillis() < deadline) {
            try (Connection c = DriverManager.getConnection(standby.jdbcUrl("postgres"));
                 Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT pg_last_wal_replay_lsn()")) {
                rs.next();
                if (rs.getString(1) != null) {
                    replayed = Lsn.parse(rs.getString(1));
                    if (!replayed.isBefore(lsn)) {
                        return;
                    }
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("standby replayed only up to " + replayed + ", not " + lsn + "; log:\n" + standby.logTail(30));
    }
}
