package dev.strata.pgcore.wal;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Benchmark main (run by {@code bench/wal-decode.sh}): generates real WAL with a pgbench-like
 * TPC-B load on PostgreSQL 17 with {@code wal_consistency_checking=all} (as Strata computes
 * run), copies the segments out, then decodes them all on one thread with CRC checks and
 * every full-page image restored, and prints MB/s.
 *
 * <p>Arguments: output directory, WAL megabytes to generate (default 1100), decode passes.
 */
public final class WalDecodeBench {

    private static final int CLIENTS = 4;
    private static final int ACCOUNTS = 200_000;

    private WalDecodeBench() {
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args.length > 0 ? args[0] : "bench/out").toAbsolutePath();
        long walMb = args.length > 1 ? Long.parseLong(args[1]) : 1100;
        int passes = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        Path walCopy = out.resolve("wal");
        Path range = out.resolve("range.txt");
        if (!Files.exists(range) || Lsn.parse(Files.readAllLines(range).get(1)).minus(Lsn.parse(Files.readAllLines(range).get(0))) < walMb << 20) {
            generate(walCopy, range, walMb << 20);
        } else {
            System.out.println("reusing WAL in " + walCopy + " (delete " + range + " to regenerate)");
        }
        List<String> lines = Files.readAllLines(range);
        Lsn start = Lsn.parse(lines.get(0));
        Lsn end = Lsn.parse(lines.get(1));
        double[] rates = new double[passes];
        for (int p = 0; p < passes; p++) {
            rates[p] = decodePass(walCopy, start, end);
        }
        Arrays.sort(rates);
        System.out.printf(Locale.ROOT, "decode: best %.0f MB/s, median %.0f MB/s over %d passes of %.1f MB%n",
                rates[passes - 1], rates[passes / 2], passes, end.minus(start) / 1e6);
    }

    private static double decodePass(Path wal, Lsn start, Lsn end) {
        long records = 0;
        long images = 0;
        long checksum = 0;
        long t0 = System.nanoTime();
        try (WalReader reader = new WalReader(wal, 1, start, end)) {
            for (DecodedRecord r = reader.next(); r != null; r = reader.next()) {
                records++;
                for (BlockReference b : r.blocks()) {
                    if (b.hasImage()) {
                        byte[] page = b.restoredPage();
                        checksum += page[8191] + page[0];
                        images++;
                    }
                }
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        double mbps = end.minus(start) / 1e6 / seconds;
        System.out.printf(Locale.ROOT, "decoded %d records, %d images restored, %.1f MB in %.2f s: %.0f MB/s (one thread)"
                + " [%d]%n", records, images, end.minus(start) / 1e6, seconds, mbps, checksum & 1);
        return mbps;
    }

    private static void generate(Path walCopy, Path range, long bytes) throws Exception {
        Files.createDirectories(walCopy);
        try (var old = Files.list(walCopy)) {
            for (Path f : old.toList()) {
                Files.delete(f);
            }
        }
        try (PostgresServer pg = PostgresServer.builder()
                .setting("wal_consistency_checking", "all")
                .setting("max_wal_size", "16GB")
                .setting("wal_keep_size", "16GB")
                .setting("checkpoint_timeout", "1h")
                .setting("fsync", "off")
                .setting("synchronous_commit", "off")
                .setting("shared_buffers", "256MB")
                .start()) {
            String url = pg.jdbcUrl("postgres");
            Lsn start;
            try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
                s.execute("CREATE TABLE accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84))"
                        + " WITH (fillfactor = 100)");
                s.execute("CREATE TABLE branches (bid int PRIMARY KEY, bbalance int, filler char(88)) WITH (fillfactor = 100)");
                s.execute("CREATE TABLE tellers (tid int PRIMARY KEY, bid int, tbalance int, filler char(84))"
                        + " WITH (fillfactor = 100)");
                s.execute("CREATE TABLE history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))");
                s.execute("INSERT INTO branches SELECT g, 0 FROM generate_series(1, 2) g");
                s.execute("INSERT INTO tellers SELECT g, (g - 1) / 10 + 1, 0 FROM generate_series(1, 20) g");
                s.execute("INSERT INTO accounts SELECT g, (g - 1) / 100000 + 1, 0 FROM generate_series(1, " + ACCOUNTS + ") g");
                s.execute("VACUUM ANALYZE");
                s.execute("CHECKPOINT");
                start = Lsn.parse(scalar(s, "SELECT pg_current_wal_insert_lsn()"));
            }
            System.out.println("generating " + (bytes >> 20) + " MB of WAL from " + start + " with " + CLIENTS + " clients");
            AtomicBoolean stop = new AtomicBoolean();
            ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
            List<Future<Long>> clients = new ArrayList<>();
            try {
                for (int i = 0; i < CLIENTS; i++) {
                    clients.add(pool.submit(() -> tpcb(url, stop)));
                }
                try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
                    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(20);
                    while (Lsn.parse(scalar(s, "SELECT pg_current_wal_insert_lsn()")).minus(start) < bytes) {
                        if (System.nanoTime() > deadline) {
                            throw new IllegalStateException("WAL generation took longer than 20 minutes");
                        }
                        Thread.sleep(500);
                    }
                }
            } finally {
                stop.set(true);
                pool.shutdown();
            }
            long txns = 0;
            for (Future<Long> f : clients) {
                txns += f.get(60, TimeUnit.SECONDS);
            }
            Lsn end;
            try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
                s.execute("CHECKPOINT");
                end = Lsn.parse(scalar(s, "SELECT pg_current_wal_flush_lsn()"));
            }
            System.out.printf(Locale.ROOT, "%d transactions, %.1f MB WAL (%.1f kB per transaction)%n", txns,
                    end.minus(start) / 1e6, end.minus(start) / 1e3 / txns);
            copySegments(pg.walDir(), walCopy);
            Files.write(range, List.of(start.toString(), end.toString()));
        }
    }

    private static long tpcb(String url, AtomicBoolean stop) throws Exception {
        long n = 0;
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        try (Connection c = DriverManager.getConnection(url)) {
            c.setAutoCommit(false);
            try (PreparedStatement ua = c.prepareStatement("UPDATE accounts SET abalance = abalance + ? WHERE aid = ?");
                 PreparedStatement sa = c.prepareStatement("SELECT abalance FROM accounts WHERE aid = ?");
                 PreparedStatement ut = c.prepareStatement("UPDATE tellers SET tbalance = tbalance + ? WHERE tid = ?");
                 PreparedStatement ub = c.prepareStatement("UPDATE branches SET bbalance = bbalance + ? WHERE bid = ?");
                 PreparedStatement ih = c.prepareStatement("INSERT INTO history (tid, bid, aid, delta, mtime)"
                         + " VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP)")) {
                while (!stop.get()) {
                    int aid = rnd.nextInt(1, ACCOUNTS + 1);
                    int tid = rnd.nextInt(1, 21);
                    int bid = rnd.nextInt(1, 3);
                    int delta = rnd.nextInt(-5000, 5001);
                    ua.setInt(1, delta);
                    ua.setInt(2, aid);
                    ua.executeUpdate();
                    sa.setInt(1, aid);
                    try (ResultSet rs = sa.executeQuery()) {
                        rs.next();
                    }
                    ut.setInt(1, delta);
                    ut.setInt(2, tid);
                    ut.executeUpdate();
                    ub.setInt(1, delta);
                    ub.setInt(2, bid);
                    ub.executeUpdate();
                    ih.setInt(1, tid);
                    ih.setInt(2, bid);
                    ih.setInt(3, aid);
                    ih.setInt(4, delta);
                    ih.executeUpdate();
                    try {
                        c.commit();
                    } catch (java.sql.SQLException e) {
                        c.rollback(); // serialization is not expected at READ COMMITTED; keep going on deadlock
                    }
                    n++;
                }
            }
        }
        return n;
    }

    private static void copySegments(Path from, Path to) throws IOException {
        try (var files = Files.list(from)) {
            for (Path f : files.toList()) {
                if (f.getFileName().toString().matches("[0-9A-F]{24}")) {
                    Files.copy(f, to.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private static String scalar(Statement s, String sql) throws Exception {
        try (ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
