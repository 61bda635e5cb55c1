package dev.strata.cli.bench;

import dev.strata.cli.local.ClusterLayout;
import dev.strata.cli.local.LocalCluster;
import dev.strata.compute.node.StartedCompute;
import dev.strata.pgcore.fs.FileTrees;
import dev.strata.pgcore.lsn.Lsn;
import java.io.IOException;
import java.io.Reader;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import org.postgresql.PGConnection;

/**
 * Time from asking for a compute to the first query result, on a database of a given size,
 * through the local cluster's proxy (run by bench/compute-start.sh):
 *
 * <ul>
 *   <li>wake: the endpoint was suspended (clean shutdown) and the timeline has not moved, so the
 *       compute reuses its data directory: election + PostgreSQL start + connect + query;</li>
 *   <li>cold: a host without the directory: election + pageserver basebackup + start + query;
 *       the basebackup's MB/s is printed too.</li>
 * </ul>
 * Arguments: {@code --size-mb N} (default 1024), {@code --wakes N} (20), {@code --cold N} (3).
 */
public final class ComputeStartBench {

    public static void main(String[] args) throws Exception {
        long sizeMb = 1024;
        int wakes = 20;
        int colds = 3;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--size-mb" -> sizeMb = Long.parseLong(args[++i]);
                case "--wakes" -> wakes = Integer.parseInt(args[++i]);
                case "--cold" -> colds = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        Path dir = Files.createTempDirectory("strata-bench-");
        LocalCluster.Options options = new LocalCluster.Options(0, false, Duration.ofHours(1));
        try (LocalCluster c = LocalCluster.start(new ClusterLayout(dir), options, s -> System.out.println("  " + s))) {
            long t = System.nanoTime();
            Lsn end = load(c, sizeMb);
            System.out.printf("loaded %d MB in %.1f s; waiting for the pageserver to ingest up to %s%n", sizeMb,
                    (System.nanoTime() - t) / 1e9, end);
            t = System.nanoTime();
            c.pageserver().access(c.auth().computeToken(c.timeline(), "bench")).awaitLsn(c.timeline(), end, Duration.ofMinutes(30));
            System.out.printf("ingested in %.1f s%n", (System.nanoTime() - t) / 1e9);

            List<Double> wake = new ArrayList<>();
            for (int i = 0; i < wakes; i++) {
                c.stopCompute();
                long t0 = System.nanoTime();
                StartedCompute s = c.startCompute();
                firstQuery(c);
                double ms = (System.nanoTime() - t0) / 1e6;
                wake.add(ms);
                System.out.printf("wake %2d: %.0f ms (basebackup bytes %d)%n", i + 1, ms, s.basebackupBytes());
            }
            List<Double> cold = new ArrayList<>();
            List<Double> mbps = new ArrayList<>();
            for (int i = 0; i < colds; i++) {
                c.stopCompute();
                // A fresh host: no data directory, no reuse mark.
                Path data = dir.resolve("computes").resolve(LocalCluster.ENDPOINT);
                FileTrees.deleteRecursively(data);
                long t0 = System.nanoTime();
                StartedCompute s = c.startCompute();
                firstQuery(c);
                double ms = (System.nanoTime() - t0) / 1e6;
                cold.add(ms);
                double rate = s.basebackupBytes() / 1e6 / Math.max(1e-9, s.basebackup().toNanos() / 1e9);
                mbps.add(rate);
                System.out.printf("cold %d: %.0f ms (basebackup %.0f MB in %d ms = %.0f MB/s; election %d ms, "
                                + "postgres start %d ms)%n", i + 1, ms, s.basebackupBytes() / 1e6,
                        s.basebackup().toMillis(), rate, s.election().toMillis(), s.postgresStart().toMillis());
            }
            System.out.println();
            System.out.printf("database %d MB; %d wakes, %d cold starts%n", sizeMb, wakes, colds);
            System.out.printf("wake of a suspended compute (directory reused), ask -> first row: p50 %.0f ms, p99 %.0f ms"
                    + " (goal p50 < 500 ms: %s)%n", pct(wake, 50), pct(wake, 99), pct(wake, 50) < 500 ? "met" : "NOT met");
            if (!cold.isEmpty()) {
                System.out.printf("cold start (full basebackup), ask -> first row: p50 %.0f ms, max %.0f ms%n",
                        pct(cold, 50), pct(cold, 100));
                System.out.printf("basebackup throughput (page service -> unpacked files): median %.0f MB/s%n",
                        pct(mbps, 50));
            }
        } finally {
            FileTrees.deleteRecursively(dir);
        }
    }

    /** COPY of generated rows (~1 kB each) until about {@code sizeMb} of table; returns the WAL end. */
    private static Lsn load(LocalCluster c, long sizeMb) throws SQLException, IOException {
        try (Connection conn = connect(c); Statement s = conn.createStatement()) {
            s.execute("CREATE TABLE bench (id bigint PRIMARY KEY, pad text)");
            copyRows(conn, sizeMb, true);
            try (ResultSet rs = s.executeQuery("SELECT pg_size_pretty(pg_database_size('postgres')), "
                    + "pg_current_wal_lsn()")) {
                rs.next();
                System.out.println("  database size " + rs.getString(1));
                return Lsn.parse(rs.getString(2));
            }
        }
    }

    /**
     * COPY into table {@code bench} (id, pad) of ~1 kB rows until about {@code sizeMb} of table, in
     * batches of 50 000 rows (no giant transaction); the benches' common load.
     */
    static void copyRows(Connection conn, long sizeMb, boolean progress) throws SQLException, IOException {
        long rows = sizeMb * 1024 * 1024 / 1100;
        long batch = 50_000;
        for (long from = 1; from <= rows; from += batch) {
            long to = Math.min(rows, from + batch - 1);
            ((PGConnection) conn).getCopyAPI().copyIn("COPY bench FROM STDIN", rowsReader(from, to));
            if (progress) {
                System.out.printf("  loaded %d of %d rows%n", to, rows);
            }
        }
    }

    /** Rows {@code from..to} of (id, ~1 kB pad) in COPY text format (BranchBench loads the same). */
    static Reader rowsReader(long from, long to) {
        String pad = "x".repeat(1000);
        return new Reader() {
            long next = from;
            String pending = "";
            int pos;

            @Override
            public int read(char[] buf, int off, int len) {
                if (pos == pending.length()) {
                    if (next > to) {
                        return -1;
                    }
                    pending = next + "\t" + pad + next + "\n";
                    next++;
                    pos = 0;
                }
                int n = Math.min(len, pending.length() - pos);
                pending.getChars(pos, pos + n, buf, off);
                pos += n;
                return n;
            }

            @Override
            public void close() {
            }
        };
    }

    private static void firstQuery(LocalCluster c) throws SQLException {
        try (Connection conn = connect(c); Statement s = conn.createStatement();
             ResultSet rs = s.executeQuery("SELECT pad FROM bench WHERE id = 1")) {
            if (!rs.next()) {
                throw new IllegalStateException("row 1 is missing");
            }
        }
    }

    private static Connection connect(LocalCluster c) throws SQLException {
        URI u = URI.create(c.connectionString());
        String[] userInfo = u.getRawUserInfo().split(":", 2);
        Properties p = new Properties();
        p.setProperty("user", userInfo[0]);
        p.setProperty("password", URLDecoder.decode(userInfo[1], StandardCharsets.UTF_8));
        p.setProperty("options", "endpoint=" + LocalCluster.ENDPOINT);
        p.setProperty("connectTimeout", "120");
        return DriverManager.getConnection("jdbc:postgresql://" + u.getHost() + ":" + u.getPort() + u.getPath(), p);
    }

    static double pct(List<Double> values, int p) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
    }
}
