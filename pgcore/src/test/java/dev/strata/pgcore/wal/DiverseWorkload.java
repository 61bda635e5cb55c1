package dev.strata.pgcore.wal;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * SQL that makes PostgreSQL write WAL of most resource managers: DDL, DML, six index kinds,
 * TOAST, VACUUM, CREATE DATABASE, sequences, two-phase commit, savepoints, row locks shared by
 * concurrent sessions (multixacts), a logical message, checkpoints and a segment switch.
 */
final class DiverseWorkload {

    private DiverseWorkload() {
    }

    /** Runs the workload; {@code rows} scales the DML. {@code urls} maps a database name to a JDBC URL. */
    static void run(Function<String, String> urls, int rows) throws Exception {
        try (Connection c = DriverManager.getConnection(urls.apply("postgres")); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE items (id bigserial PRIMARY KEY, name text, n int, tags int[], doc tsvector,"
                    + " p point, r int4range, big text)");
            s.execute("CREATE INDEX items_n ON items USING btree (n)");
            s.execute("CREATE INDEX items_name ON items USING hash (name)");
            s.execute("CREATE INDEX items_tags ON items USING gin (tags)");
            s.execute("CREATE INDEX items_doc ON items USING gin (doc)");
            s.execute("CREATE INDEX items_p ON items USING gist (p)");
            s.execute("CREATE INDEX items_id_brin ON items USING brin (id) WITH (pages_per_range = 2)");
            s.execute("CREATE INDEX items_r ON items USING spgist (r)");
            s.execute("CREATE SEQUENCE counter");
            int batch = Math.max(1, rows / 10);
            for (int done = 0; done < rows; done += batch) {
                s.execute("INSERT INTO items (name, n, tags, doc, p, r) SELECT 'name-' || g, g % 97,"
                        + " ARRAY[g % 7, g % 11, g % 13], to_tsvector('english', 'row ' || g || ' of the workload'),"
                        + " point(g % 100, g / 100), int4range(g, g + 10) FROM generate_series(" + done + ", "
                        + (done + batch - 1) + ") g");
                s.execute("SELECT nextval('counter') FROM generate_series(1, 50)");
            }
            // TOAST: poorly compressible values well above the 2 kB threshold go out of line.
            s.execute("UPDATE items SET big = id || (SELECT string_agg(md5(random()::text || g), '') FROM"
                    + " generate_series(1, 100) g) WHERE id % 50 = 0");
            s.execute("UPDATE items SET n = n + 1 WHERE id % 3 = 0");      // index keys change: non-HOT
            s.execute("UPDATE items SET big = 'short' WHERE id % 100 = 0"); // TOAST deletes
            s.execute("DELETE FROM items WHERE id % 5 = 0");
            s.execute("VACUUM (ANALYZE) items");
            s.execute("CHECKPOINT");
            s.execute("UPDATE items SET name = name WHERE id % 7 = 0");     // after a checkpoint: FPIs again
            s.execute("SELECT pg_logical_emit_message(true, 'strata', 'differential test')");
            s.execute("SELECT pg_switch_wal()");
            s.execute("CREATE TABLE scratch AS SELECT g AS x FROM generate_series(1, 2000) g");
            s.execute("TRUNCATE scratch");
            s.execute("DROP TABLE scratch");
            twoPhaseAndSavepoints(c);
            sharedRowLocks(urls.apply("postgres"));
            s.execute("CREATE DATABASE other");
        }
        try (Connection c = DriverManager.getConnection(urls.apply("other")); Statement s = c.createStatement()) {
            s.execute("CREATE TABLE t AS SELECT g AS x, md5(g::text) AS y FROM generate_series(1, 500) g");
            s.execute("CREATE INDEX ON t (y)");
        }
        try (Connection c = DriverManager.getConnection(urls.apply("postgres")); Statement s = c.createStatement()) {
            s.execute("DROP DATABASE other");
            s.execute("CHECKPOINT");
        }
    }

    private static void twoPhaseAndSavepoints(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("BEGIN");
            s.execute("INSERT INTO items (name, n) VALUES ('prepared-1', 1)");
            s.execute("PREPARE TRANSACTION 'p1'");
            s.execute("COMMIT PREPARED 'p1'");
            s.execute("BEGIN");
            s.execute("INSERT INTO items (name, n) VALUES ('prepared-2', 2)");
            s.execute("PREPARE TRANSACTION 'p2'");
            s.execute("ROLLBACK PREPARED 'p2'");
            s.execute("BEGIN");
            for (int i = 0; i < 80; i++) {  // more than 64 subtransactions: XLOG_XACT_ASSIGNMENT
                s.execute("SAVEPOINT sp" + i);
                s.execute("INSERT INTO items (name, n) VALUES ('sub-" + i + "', " + i + ")");
                if (i % 3 == 0) {
                    s.execute("ROLLBACK TO SAVEPOINT sp" + i);
                } else {
                    s.execute("RELEASE SAVEPOINT sp" + i);
                }
            }
            s.execute("COMMIT");
            s.execute("BEGIN");
            s.execute("INSERT INTO items (name, n) VALUES ('aborted', 0)");
            s.execute("ROLLBACK");
        }
    }

    /** Two sessions hold FOR SHARE locks on the same rows at once: PostgreSQL creates multixacts. */
    private static void sharedRowLocks(String url) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        CountDownLatch bothLocked = new CountDownLatch(2);
        try {
            Future<?>[] sessions = new Future<?>[2];
            for (int i = 0; i < 2; i++) {
                sessions[i] = pool.submit(() -> {
                    try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
                        c.setAutoCommit(false);
                        s.execute("SELECT id FROM items WHERE id < 200 FOR SHARE");
                        bothLocked.countDown();
                        if (!bothLocked.await(30, TimeUnit.SECONDS)) {
                            throw new IllegalStateException("the other session did not lock in time");
                        }
                        c.commit();
                    }
                    return null;
                });
            }
            for (Future<?> f : sessions) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
