package dev.strata.cli.local;

import static dev.strata.cli.local.ClusterClient.connect;
import static dev.strata.cli.local.ClusterClient.count;
import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.compute.node.StartedCompute;
import dev.strata.control.storage.BranchTarget;
import dev.strata.pgcore.lsn.Lsn;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A restore restarts the branch's compute over the directory its previous compute shut down
 * cleanly: the pageserver sends only what differs (docs/basebackup.md, "Incremental
 * basebackups"). This checks that the restored branch is exactly its point in time although
 * most of its files were taken over from a later state: rows updated, added, deleted after the
 * point; a relation truncated by VACUUM and extended again (blocks that changed without a record
 * of their own); a table dropped and one created; an index built; an unlogged table (reset, as
 * after a full basebackup). Undoing the restore (the backup's head over the restored timeline's
 * directory, whose common history is the backup's timeline) is incremental too.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class IncrementalRestoreTest {

    private static final List<String> TABLES = List.of("a", "shrink", "doomed");

    @TempDir
    Path tmp;

    @Test
    void aRestoreIsIncrementalOverTheOldDirectoryAndExactlyItsPoint() throws Exception {
        try (LocalCluster c = LocalCluster.start(new ClusterLayout(tmp.resolve("cluster")),
                new LocalCluster.Options(0, false, Duration.ofSeconds(300)), s -> { })) {
            Lsn point;
            Map<String, String> atPoint;
            try (Connection conn = connect(c, "main"); Statement s = conn.createStatement()) {
                s.execute("CREATE TABLE a (id int PRIMARY KEY, pad text)");
                s.execute("INSERT INTO a SELECT g, repeat('a', 100) FROM generate_series(1, 20000) g");
                s.execute("CREATE TABLE shrink (id int, pad text)");
                s.execute("INSERT INTO shrink SELECT g, repeat('s', 200) FROM generate_series(1, 5000) g");
                s.execute("CREATE TABLE doomed (id int)");
                s.execute("INSERT INTO doomed SELECT generate_series(1, 1000)");
                s.execute("CREATE UNLOGGED TABLE u (id int)");
                s.execute("INSERT INTO u SELECT generate_series(1, 100)");
                atPoint = fingerprints(conn);
                point = Lsn.parse(one(s, "SELECT pg_current_wal_flush_lsn()"));

                s.execute("UPDATE a SET pad = 'changed' WHERE id % 10 = 0");
                s.execute("INSERT INTO a SELECT g, repeat('b', 100) FROM generate_series(20001, 30000) g");
                s.execute("DELETE FROM shrink WHERE id > 100");
                s.execute("VACUUM shrink"); // truncates the relation to its first blocks
                s.execute("INSERT INTO shrink SELECT g, repeat('n', 200) FROM generate_series(1, 3000) g");
                s.execute("DROP TABLE doomed");
                s.execute("CREATE TABLE fresh AS SELECT generate_series(1, 1000) AS g");
                s.execute("CREATE INDEX a_pad ON a (pad)");
                assertThat(fingerprints(conn)).as("the writes after the point changed every table")
                        .doesNotContainEntry("a", atPoint.get("a")).doesNotContainEntry("shrink", atPoint.get("shrink"));
            }

            LocalCluster.Restored r = c.restore("main", new BranchTarget.AtLsn(point), null);

            try (Connection conn = connect(c, "main"); Statement s = conn.createStatement()) {
                StartedCompute started = c.compute("main").started();
                assertThat(started.basebackupKind()).as("the restored compute's start: %s", started.breakdown())
                        .isEqualTo(StartedCompute.BasebackupKind.INCREMENTAL);
                assertThat(fingerprints(conn)).isEqualTo(atPoint);
                assertThat(one(s, "SELECT to_regclass('fresh') IS NULL")).isEqualTo("t");
                assertThat(one(s, "SELECT to_regclass('a_pad') IS NULL")).isEqualTo("t");
                assertThat(count(conn, "SELECT count(*) FROM u")).as("unlogged: reset, as after any basebackup").isZero();
                for (String table : TABLES) {
                    assertThat(ClusterClient.heapCorruption(conn, table)).as("amcheck of %s", table).isEmpty();
                }
                ClusterClient.checkIndex(conn, "a_pkey");
                // The restored branch takes writes and keeps them over a restart.
                s.execute("INSERT INTO a VALUES (40000, 'after the restore')");
            }
            assertThat(rowCount(c, "main", "a")).isEqualTo(20001);
            assertThat(rowCount(c, r.backup().name(), "a")).as("the backup keeps every commit").isEqualTo(30000);

            // Undo: main from its backup's head. The directory is on the restored timeline, a sibling
            // of the new one; their common history is the backup's timeline: incremental again.
            c.restore("main", BranchTarget.HEAD, r.backup().name());
            try (Connection conn = connect(c, "main"); Statement s = conn.createStatement()) {
                StartedCompute started = c.compute("main").started();
                assertThat(started.basebackupKind()).as("the undo's compute start: %s", started.breakdown())
                        .isEqualTo(StartedCompute.BasebackupKind.INCREMENTAL);
                assertThat(count(conn, "SELECT count(*) FROM a")).isEqualTo(30000);
                assertThat(count(conn, "SELECT count(*) FROM a WHERE pad = 'changed'")).isEqualTo(2000);
                assertThat(one(s, "SELECT to_regclass('fresh') IS NOT NULL")).isEqualTo("t");
                assertThat(one(s, "SELECT to_regclass('doomed') IS NULL")).isEqualTo("t");
                for (String table : List.of("a", "shrink", "fresh")) {
                    assertThat(ClusterClient.heapCorruption(conn, table)).as("amcheck of %s", table).isEmpty();
                }
                ClusterClient.checkIndex(conn, "a_pad");
            }
        }
    }

    /** An md5 of each table's rows in a fixed order (a table that does not exist: "missing"). */
    private static Map<String, String> fingerprints(Connection conn) throws SQLException {
        Map<String, String> out = new LinkedHashMap<>();
        try (Statement s = conn.createStatement()) {
            for (String table : TABLES) {
                String exists = one(s, "SELECT to_regclass('" + table + "') IS NOT NULL");
                out.put(table, exists.equals("t")
                        ? one(s, "SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM " + table + " t")
                        : "missing");
            }
        }
        return out;
    }

    private static String one(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static long rowCount(LocalCluster c, String branch, String table) throws SQLException {
        try (Connection conn = connect(c, branch)) {
            return count(conn, "SELECT count(*) FROM " + table);
        }
    }
}
