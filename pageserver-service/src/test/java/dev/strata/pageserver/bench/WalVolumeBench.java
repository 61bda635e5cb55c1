package dev.strata.pageserver.bench;

import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.testing.Bench;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Issue 14's WAL volume: bytes of WAL per pgbench transaction written by a PG 17 server with
 * (A) no {@code wal_consistency_checking} (stock), (B) {@code wal_consistency_checking=all}
 * (every Strata compute until Java redo), and (C) the compute's current list,
 * {@code ComputeSettings.WAL_CONSISTENCY_CHECKING} through {@link Bench#computeWalConsistencyChecking()}
 * (empty since decision 0030, so C writes what A writes; until decision 0021 it was every manager
 * with an {@code rm_mask} but heap, heap2, btree and sequence), or the list given with
 * {@code --wal-consistency-checking}. Same settings
 * otherwise (the compute's WAL settings: replica, full_page_writes on, fsync off); each server
 * runs {@code pgbench -i -s SCALE}, a CHECKPOINT, then two passes of a fixed number of
 * transactions: the first right after the checkpoint (every first touch of a page is a full-page
 * write), the second without one in between (fewer). The WAL is measured by
 * {@code pg_current_wal_lsn()} around each pass. Prints a table and the ratios to stock; nothing
 * is asserted (figures, not a test). Run it through {@code bench/wal-volume.sh}.
 *
 * <pre>
 * WalVolumeBench [--scale 10] [--transactions 20000] [--clients 4] [--builtin tpcb-like] [--pgbench /usr/bin/pgbench]
 *                [--wal-consistency-checking compute]
 * </pre>
 */
public final class WalVolumeBench {

    private record Pass(long walBytes, long transactions) {
        double perTransaction() {
            return (double) walBytes / transactions;
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new LinkedHashMap<>();
        opt.put("scale", "10");
        opt.put("transactions", "20000");
        opt.put("clients", "4");
        opt.put("builtin", "tpcb-like");
        opt.put("pgbench", "/usr/bin/pgbench");
        opt.put("wal-consistency-checking", "compute");
        Map<String, String> parsed = Bench.options("WalVolumeBench", opt, args);
        opt.putAll(parsed);
        String compute = Bench.walConsistencyChecking(opt.get("wal-consistency-checking"));
        Map<String, String> setups = new LinkedHashMap<>();
        setups.put("stock (no wcc)", null);
        setups.put("wcc=all (before Java redo)", "all");
        setups.put("compute's wcc='" + compute + "'", compute);
        Map<String, List<Pass>> results = new LinkedHashMap<>();
        for (Map.Entry<String, String> setup : setups.entrySet()) {
            results.put(setup.getKey(), run(opt, setup.getValue()));
        }
        System.out.printf("%nWAL bytes per pgbench transaction (%s, scale %s, %s transactions per pass, %s clients)%n",
                opt.get("builtin"), opt.get("scale"), opt.get("transactions"), opt.get("clients"));
        System.out.printf("%-40s %16s %8s %16s %8s%n", "setup", "after checkpoint", "x stock", "second pass",
                "x stock");
        List<Pass> stock = results.get("stock (no wcc)");
        results.forEach((name, passes) -> System.out.printf("%-40s %16.0f %8.2f %16.0f %8.2f%n", name,
                passes.get(0).perTransaction(), passes.get(0).perTransaction() / stock.get(0).perTransaction(),
                passes.get(1).perTransaction(), passes.get(1).perTransaction() / stock.get(1).perTransaction()));
    }

    private static List<Pass> run(Map<String, String> opt, String wcc) throws Exception {
        Map<String, String> settings = new LinkedHashMap<>(Map.of("wal_level", "replica", "full_page_writes", "on",
                "fsync", "off", "max_wal_size", "8GB", "checkpoint_timeout", "1h", "autovacuum", "off"));
        if (wcc != null) {
            settings.put("wal_consistency_checking", wcc);
        }
        try (PostgresServer pg = PostgresServer.builder().settings(settings).start()) {
            exec(List.of(opt.get("pgbench"), "-i", "-q", "-s", opt.get("scale"), pg.connectionUri("postgres")), 900);
            List<Pass> passes = new ArrayList<>();
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres")); Statement s = c.createStatement()) {
                s.execute("CHECKPOINT");
            }
            for (int pass = 0; pass < 2; pass++) {
                Lsn before = Lsn.parse(query(pg, "SELECT pg_current_wal_lsn()"));
                long perClient = Long.parseLong(opt.get("transactions")) / Integer.parseInt(opt.get("clients"));
                exec(List.of(opt.get("pgbench"), "-n", "-b", opt.get("builtin"), "-c", opt.get("clients"), "-j", "2",
                        "-t", Long.toString(perClient), pg.connectionUri("postgres")), 1800);
                Lsn after = Lsn.parse(query(pg, "SELECT pg_current_wal_lsn()"));
                passes.add(new Pass(after.value() - before.value(), perClient * Integer.parseInt(opt.get("clients"))));
            }
            System.out.printf("%s: %.0f and %.0f bytes/transaction%n", wcc == null ? "stock" : "wcc=" + wcc,
                    passes.get(0).perTransaction(), passes.get(1).perTransaction());
            return passes;
        }
    }

    private static String query(PostgresServer pg, String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres")); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    private static void exec(List<String> cmd, int timeoutSeconds) throws IOException, InterruptedException {
        java.nio.file.Path log = java.nio.file.Files.createTempFile("wal-volume", ".log");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(cmd.get(0) + " timed out");
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", cmd) + " failed:\n"
                        + java.nio.file.Files.readString(log, StandardCharsets.UTF_8));
            }
        } finally {
            java.nio.file.Files.deleteIfExists(log);
        }
    }
}
