package dev.strata.pageserver.basebackup;

import static dev.strata.pageserver.basebackup.BasebackupFixtures.PASSWORD;
import static dev.strata.pageserver.basebackup.BasebackupFixtures.addComputeConfig;
import static dev.strata.pageserver.basebackup.BasebackupFixtures.basebackup;
import static dev.strata.pageserver.basebackup.BasebackupFixtures.compute;
import static dev.strata.pageserver.basebackup.BasebackupFixtures.execute;
import static dev.strata.pageserver.basebackup.BasebackupFixtures.flushedInsertLsn;
import static dev.strata.pageserver.basebackup.BasebackupFixtures.importInitdb;
import static dev.strata.pageserver.basebackup.BasebackupFixtures.initdb;
import static dev.strata.pageserver.basebackup.BasebackupFixtures.queryOne;
import static dev.strata.pageserver.basebackup.BasebackupFixtures.untar;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.ingest.RmgrRegistry;
import dev.strata.pageserver.ingest.TimelineBase;
import dev.strata.pageserver.ingest.WalIngest;
import dev.strata.pageserver.initdb.InitdbImport;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.WalReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tablespaces, as PostgreSQL's regression suite uses them (test_setup.sql creates an in-place
 * tablespace, {@code SET allow_in_place_tablespaces = true; CREATE TABLESPACE ... LOCATION ''};
 * tablespace.sql, database.sql and stats.sql move tables, indexes and a database into it and
 * back). A real PG17 primary writes the WAL, the real WalIngest ingests it (it used to stop the
 * timeline at the first tablespace record), and stock PG17 started on the basebackup has every
 * row, the tablespace directories in place, and can drop them all again (so no stray file was
 * left in a tablespace's database directory).
 */
class TablespaceIngestTest {

    @TempDir
    Path tmp;

    @Test
    void inPlaceTablespacesSurviveIngestAndBasebackup() throws Exception {
        Path src = initdb(tmp.resolve("initdb"), true);
        Path primaryDir = copy(src, tmp.resolve("primary"));
        InitdbImport.Inspected inspected = InitdbImport.inspect(src);
        Lsn e;
        Lsn prev;
        String expected;
        String tsOid;
        try (LayerStore store = importInitdb(src, tmp.resolve("timeline"), inspected)) {
            try (PostgresServer primary = PostgresServer.builder().dataDir(primaryDir).password(PASSWORD)
                    .setting("wal_level", "replica").setting("wal_consistency_checking", "all")
                    .setting("autovacuum", "off").setting("allow_in_place_tablespaces", "on")
                    .setting("wal_keep_size", "1GB").start()) { // checkpoints below must not recycle WAL
                workload(primary);
                expected = contents(primary);
                tsOid = queryOne(primary, "postgres", "SELECT oid FROM pg_tablespace WHERE spcname = 'ts'");
                Lsn flush = flushedInsertLsn(primary);
                WalIngest ingest = new WalIngest(store, RmgrRegistry.defaults(), inspected.dataChecksums(),
                        TimelineBase.IMPORTED, inspected.checkpointLsn());
                DecodedRecord last = null;
                try (WalReader reader = new WalReader(primary.walDir(), 1, inspected.endLsn(), flush)) {
                    DecodedRecord r;
                    while ((r = reader.next()) != null) {
                        ingest.ingest(r);
                        last = r;
                    }
                }
                assertThat(ingest.stopped()).isNull();
                e = last.endLsn();
                prev = last.startLsn();
            }
            store.freezeAndFlush();
            basebackup(store, e, prev, tmp.resolve("base.tar"));
        }
        Path dst = tmp.resolve("compute");
        List<String> names = untar(tmp.resolve("base.tar"), dst);
        String versionDir = "pg_tblspc/" + tsOid + "/PG_17_";
        assertThat(names).anyMatch(n -> n.startsWith(versionDir));
        // The dropped tablespace is gone; in "ts", PG_VERSION only in the directories of d2 and d3 (their
        // default tablespace), not in the one of postgres (it only holds in_ts and its index there).
        assertThat(names.stream().filter(n -> n.startsWith("pg_tblspc/") && n.length() > 10).map(n -> n.split("/")[1]).distinct())
                .containsExactly(tsOid);
        assertThat(names.stream().filter(n -> n.startsWith("pg_tblspc/") && n.endsWith("/PG_VERSION"))).hasSize(2);
        addComputeConfig(dst);
        try (PostgresServer pg = compute(dst).start()) {
            assertThat(contents(pg)).isEqualTo(expected);
            assertThat(queryOne(pg, "postgres", "SELECT pg_tablespace_location(oid) FROM pg_tablespace"
                    + " WHERE spcname = 'ts'")).isEqualTo("pg_tblspc/" + tsOid);
            execute(pg, "postgres", "CREATE EXTENSION amcheck");
            assertThat(queryOne(pg, "postgres", "SELECT count(*) FROM pg_class c, LATERAL verify_heapam(c.oid)"
                    + " WHERE c.relkind IN ('r', 't', 'm') AND c.relpersistence = 'p'")).isEqualTo("0");
            assertThat(queryOne(pg, "postgres", "SELECT count(bt_index_check(c.oid, true)) FROM pg_class c"
                    + " JOIN pg_am a ON a.oid = c.relam WHERE c.relkind = 'i' AND a.amname = 'btree'"
                    + " AND c.relpersistence = 'p' AND c.reltablespace NOT IN (0, 1664)")).isEqualTo("2"); // in_ts_pkey, its TOAST index
            // The new compute writes to the tablespace, and everything can leave it again.
            execute(pg, "postgres", "INSERT INTO in_ts SELECT g, 'after' FROM generate_series(1001, 1010) g",
                    "ALTER TABLE in_ts SET TABLESPACE pg_default", "ALTER INDEX in_ts_pkey SET TABLESPACE pg_default",
                    "DROP DATABASE d3",
                    "ALTER DATABASE d2 SET TABLESPACE pg_default");
            assertThat(queryOne(pg, "d2", "SELECT count(*) FROM moved")).isEqualTo("300");
            execute(pg, "postgres", "DROP TABLESPACE ts");
            assertThat(queryOne(pg, "postgres", "SELECT count(*) FROM in_ts")).isEqualTo("1010");
        }
    }

    private static void workload(PostgresServer pg) throws Exception {
        execute(pg, "postgres",
                "CREATE TABLESPACE ts LOCATION ''",
                "CREATE TABLESPACE gone LOCATION ''",
                "CREATE TABLE in_ts (id int PRIMARY KEY USING INDEX TABLESPACE ts, note text) TABLESPACE ts",
                "INSERT INTO in_ts SELECT g, md5(g::text) FROM generate_series(1, 1000) g",
                "CREATE TABLE moving (id int, note text)",
                "INSERT INTO moving SELECT g, repeat('x', g) FROM generate_series(1, 500) g",
                "ALTER TABLE moving SET TABLESPACE ts", // pages copied as FPIs into the new tablespace
                "UPDATE moving SET note = 'updated' WHERE id % 3 = 0",
                "ALTER TABLE moving SET TABLESPACE pg_default",
                "CREATE TABLE briefly (x int) TABLESPACE gone",
                "INSERT INTO briefly VALUES (1)",
                "DROP TABLE briefly",
                "CHECKPOINT", // DROP TABLESPACE needs the dropped relation's files unlinked
                "DROP TABLESPACE gone",
                "CREATE DATABASE d2",
                "CREATE DATABASE d3 TABLESPACE ts");
        execute(pg, "d2", "CREATE TABLE moved (id int PRIMARY KEY, note text)",
                "INSERT INTO moved SELECT g, 'd2' FROM generate_series(1, 300) g");
        execute(pg, "d3", "CREATE TABLE born_in_ts (id int, note text)",
                "INSERT INTO born_in_ts SELECT g, 'd3' FROM generate_series(1, 200) g");
        execute(pg, "postgres", "ALTER DATABASE d2 SET TABLESPACE ts"); // FILE_COPY into ts, DROP in pg_default
    }

    private static String contents(PostgresServer pg) throws Exception {
        return queryOne(pg, "postgres", "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM in_ts t")
                + " " + queryOne(pg, "postgres", "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM moving t")
                + " " + queryOne(pg, "d2", "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM moved t")
                + " " + queryOne(pg, "d3", "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM born_in_ts t")
                + " " + queryOne(pg, "postgres", "SELECT string_agg(datname || ':' || t.spcname, ',' ORDER BY datname)"
                + " FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace");
    }

    private static Path copy(Path from, Path to) throws Exception {
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        return to;
    }
}
