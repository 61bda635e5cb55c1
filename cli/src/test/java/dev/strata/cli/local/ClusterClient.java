package dev.strata.cli.local;

import dev.strata.pgcore.lsn.Lsn;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Test helpers for a running local cluster: JDBC connections through its printed connection
 * string (so through the proxy), and a writer workload that remembers every commit that was
 * acknowledged to it.
 */
public final class ClusterClient {

    private static final Pattern WAL_FROM = Pattern.compile("WAL from ([0-9A-F]+/[0-9A-F]+)");

    private ClusterClient() {
    }

    /** A JDBC connection from the cluster's libpq connection string. */
    public static Connection connect(LocalCluster c) throws SQLException {
        return connect(c.connectionString());
    }

    /** A JDBC connection to a branch's endpoint, through the proxy. */
    public static Connection connect(LocalCluster c, String branch) throws SQLException {
        return connect(c.connectionString(branch));
    }

    /** A JDBC connection from a libpq connection string such as `strata connect` prints. */
    public static Connection connect(String connectionString) throws SQLException {
        URI u = URI.create(connectionString);
        String[] userInfo = u.getRawUserInfo().split(":", 2);
        Properties p = new Properties();
        p.setProperty("user", userInfo[0]);
        p.setProperty("password", URLDecoder.decode(userInfo[1], StandardCharsets.UTF_8));
        p.setProperty("connectTimeout", "60");
        p.setProperty("socketTimeout", "60");
        String query = u.getRawQuery();
        if (query != null && query.startsWith("options=")) {
            p.setProperty("options", URLDecoder.decode(query.substring("options=".length()), StandardCharsets.UTF_8));
        }
        return DriverManager.getConnection("jdbc:postgresql://" + u.getHost() + ":" + u.getPort() + u.getPath(), p);
    }

    /** Where each safekeeper's WAL on disk begins, from its status line ("WAL from X/Y"). */
    static List<Lsn> walFrom(LocalCluster c) {
        List<Lsn> out = new ArrayList<>();
        for (LocalSafekeeper sk : c.safekeepers()) {
            String status = sk.status(c.timeline());
            Matcher m = WAL_FROM.matcher(status);
            if (!m.find()) {
                throw new AssertionError("no 'WAL from' in the status of " + sk.id() + ": " + status);
            }
            out.add(Lsn.parse(m.group(1)));
        }
        return out;
    }

    /**
     * Writes {@code segments} x 16 MB of WAL or more (a bulk insert into table {@code ballast}),
     * then waits until every safekeeper has removed at least {@code segments - 1} segments since
     * before it: the pageserver flushed that WAL into layer files and every safekeeper holds it.
     */
    static void writeWalAndAwaitRemoval(LocalCluster c, int segments, Duration timeout) throws Exception {
        List<Lsn> before = walFrom(c);
        try (Connection conn = connect(c); Statement s = conn.createStatement()) {
            s.execute("CREATE TABLE IF NOT EXISTS ballast (id int, v text)");
            long start = lsn(s, "SELECT pg_current_wal_insert_lsn()");
            while (lsn(s, "SELECT pg_current_wal_insert_lsn()") - start < segments * (16L << 20)) {
                s.execute("INSERT INTO ballast SELECT g, repeat('y', 200) FROM generate_series(1, 20000) g");
            }
        }
        try {
            waitFor(() -> {
                List<Lsn> now = walFrom(c);
                for (int i = 0; i < now.size(); i++) {
                    if (now.get(i).minus(before.get(i)) < (segments - 1) * (16L << 20)) {
                        return false;
                    }
                }
                return true;
            }, timeout, "every safekeeper to remove " + (segments - 1) + " WAL segments");
        } catch (AssertionError e) {
            // What holds removal back (the pageserver's remote-consistent LSN, a peer's position)
            // is in the status: say it, since the cluster's directory is gone after the test.
            throw new AssertionError(e.getMessage() + "; WAL from before: " + before + "; status now:\n"
                    + c.statusReport(), e);
        }
    }

    private static long lsn(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return Lsn.parse(rs.getString(1)).value();
        }
    }

    static long count(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /**
     * amcheck's heap check of {@code table}: one line per corruption it reports, empty when the
     * heap is clean. {@code verify_heapam} returns a row per problem instead of raising an error,
     * so its rows must be read (a bare {@code SELECT verify_heapam(...)} can never fail).
     */
    static List<String> heapCorruption(Connection c, String table) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Statement s = c.createStatement()) {
            s.execute("CREATE EXTENSION IF NOT EXISTS amcheck");
            try (ResultSet rs = s.executeQuery("SELECT blkno, offnum, attnum, msg FROM verify_heapam('"
                    + table + "'::regclass, check_toast => true)")) {
                while (rs.next()) {
                    out.add("block " + rs.getLong(1) + " offset " + rs.getInt(2) + " attribute " + rs.getInt(3)
                            + ": " + rs.getString(4));
                }
            }
        }
        return out;
    }

    /** amcheck's B-tree check with heap verification: raises an error (so throws) on any corruption. */
    static void checkIndex(Connection c, String index) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("CREATE EXTENSION IF NOT EXISTS amcheck");
            s.execute("SELECT bt_index_check('" + index + "'::regclass, true)");
        }
    }

    static void waitFor(BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    /**
     * Writers inserting unique ids into {@code acked}, each on its own connection; an id is
     * recorded only after its commit returned. Connection failures (a compute being replaced)
     * are retried until {@link #close}.
     */
    static final class Writers implements AutoCloseable {
        final Set<Long> acknowledged = ConcurrentHashMap.newKeySet();
        private final AtomicBoolean stop = new AtomicBoolean();
        private final AtomicLong ids = new AtomicLong();
        private final List<Thread> threads = new ArrayList<>();

        Writers(LocalCluster c, int count) throws SQLException {
            try (Connection conn = connect(c); Statement s = conn.createStatement()) {
                s.execute("CREATE TABLE IF NOT EXISTS acked (id bigint PRIMARY KEY, writer int, pad text)");
            }
            for (int w = 0; w < count; w++) {
                int writer = w;
                threads.add(Thread.ofPlatform().name("writer-" + w).start(() -> {
                    while (!stop.get()) {
                        try (Connection conn = connect(c)) {
                            while (!stop.get()) {
                                long id = ids.incrementAndGet();
                                try (Statement s = conn.createStatement()) {
                                    s.execute("INSERT INTO acked VALUES (" + id + ", " + writer + ", repeat('p', 200))");
                                }
                                acknowledged.add(id); // the commit returned: it must survive
                            }
                        } catch (SQLException e) {
                            pause(100); // compute gone: reconnect, the proxy waits for the next one
                        }
                    }
                }));
            }
        }

        int size() {
            return acknowledged.size();
        }

        /** Waits until {@code more} further commits were acknowledged. */
        void progress(int more, Duration timeout, String what) throws InterruptedException {
            int target = size() + more;
            waitFor(() -> size() >= target, timeout, more + " acknowledged commits " + what);
        }

        /** Stops the writers, then checks that every acknowledged id is in the table and amcheck is clean. */
        Set<Long> stopAndFindLost(LocalCluster c) throws Exception {
            close();
            try (Connection conn = connect(c); Statement s = conn.createStatement();
                 ResultSet rs = s.executeQuery("SELECT id FROM acked")) {
                Set<Long> present = new HashSet<>();
                while (rs.next()) {
                    present.add(rs.getLong(1));
                }
                Set<Long> lost = new HashSet<>(acknowledged);
                lost.removeAll(present);
                List<String> corruption = heapCorruption(conn, "acked");
                if (!corruption.isEmpty()) {
                    throw new AssertionError("amcheck found corruption in table acked: " + corruption);
                }
                checkIndex(conn, "acked_pkey");
                return lost;
            }
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            for (Thread t : threads) {
                t.join(Duration.ofSeconds(90));
            }
        }

        private static void pause(long ms) {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
