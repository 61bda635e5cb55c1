package dev.strata.pageserver.basebackup;

import dev.strata.pageserver.initdb.InitdbImport;
import dev.strata.pageserver.redo.PageserverRedo;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pageserver.timeline.StorageConfig;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/** Shared steps of the basebackup tests: a stopped initdb cluster, import, tar, untar, start a compute. */
public final class BasebackupFixtures {

    static final String PASSWORD = "basebackup-test-pw";

    private BasebackupFixtures() {
    }

    /** initdb (through PostgresServer), started once and stopped cleanly: the shape initdb leaves. */
    static Path initdb(Path dir, boolean checksums) {
        PostgresServer.Builder b = PostgresServer.builder().dataDir(dir).password(PASSWORD);
        if (checksums) {
            b.initdbOption("--data-checksums");
        }
        try (PostgresServer pg = b.start()) {
            pg.stop();
        }
        return dir;
    }

    static LayerStore importInitdb(Path pgdata, Path timelineDir, InitdbImport.Inspected inspected) {
        LayerStore store = LayerStore.create(timelineDir, TimelineId.random(), inspected.checkpointLsn(),
                StorageConfig.DEFAULTS);
        InitdbImport.importInto(pgdata, inspected, store);
        return store;
    }

    static Basebackup.Result basebackup(LayerStore store, Lsn lsn, Lsn prev, Path tarFile) throws IOException {
        try (OutputStream out = Files.newOutputStream(tarFile)) {
            return Basebackup.write(store, new PageserverRedo(), lsn, prev, out);
        }
    }

    /** Untars with commons-compress (an independent reader), returning the entry names in order. */
    public static List<String> untar(Path tarFile, Path into) throws IOException {
        List<String> names = new ArrayList<>();
        Files.createDirectories(into);
        try (InputStream in = Files.newInputStream(tarFile); TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                names.add(e.getName());
                Path target = into.resolve(e.getName()).normalize();
                if (!target.startsWith(into)) {
                    throw new IOException("tar entry escapes the directory: " + e.getName());
                }
                if (e.isDirectory()) {
                    Files.createDirectories(target);
                } else {
                    Files.createDirectories(target.getParent());
                    Files.copy(tar, target);
                }
            }
        }
        return names;
    }

    /** What a compute adds: postgresql.conf (including PostgresServer's strata.conf) and pg_hba.conf with passwords. */
    static void addComputeConfig(Path pgdata) throws IOException {
        Files.writeString(pgdata.resolve("postgresql.conf"), "include_if_exists = 'strata.conf'\n");
        Files.writeString(pgdata.resolve("pg_hba.conf"), """
                host all all 127.0.0.1/32 scram-sha-256
                host replication all 127.0.0.1/32 scram-sha-256
                """);
    }

    static PostgresServer.Builder compute(Path pgdata) {
        return PostgresServer.builder().dataDir(pgdata).password(PASSWORD);
    }

    static String queryOne(PostgresServer pg, String db, String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl(db)); Statement s = c.createStatement();
             ResultSet r = s.executeQuery(sql)) {
            return r.next() ? r.getString(1) : null;
        }
    }

    /**
     * The end of all WAL inserted so far, once it is flushed. Not simply
     * {@code pg_current_wal_flush_lsn()}: some records are inserted without a flush (ALTER DATABASE
     * SET TABLESPACE writes its DROP of the old directory after its transaction committed) and
     * reach disk only when the walwriter next wakes, later still on a loaded machine; a test
     * that read the flush LSN too early ingested WAL without them (TablespaceIngestTest failed so).
     */
    static Lsn flushedInsertLsn(PostgresServer pg) throws SQLException, InterruptedException {
        Lsn insert = Lsn.parse(queryOne(pg, "postgres", "SELECT pg_current_wal_insert_lsn()"));
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
        while (true) {
            Lsn flush = Lsn.parse(queryOne(pg, "postgres", "SELECT pg_current_wal_flush_lsn()"));
            if (!flush.isBefore(insert)) {
                return flush;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("WAL inserted up to " + insert + " not flushed after 60 s (flush " + flush + ")");
            }
            Thread.sleep(20);
        }
    }

    static void execute(PostgresServer pg, String db, String... sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl(db)); Statement s = c.createStatement()) {
            for (String q : sql) {
                s.execute(q);
            }
        }
    }

    static String log(PostgresServer pg) throws IOException {
        return Files.exists(pg.logFile()) ? Files.readString(pg.logFile()) : "";
    }
}
