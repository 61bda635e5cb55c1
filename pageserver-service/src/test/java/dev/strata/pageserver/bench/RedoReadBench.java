package dev.strata.pageserver.bench;

import dev.strata.pageserver.datadir.BlockCount;
import dev.strata.pageserver.datadir.RelDirectory;
import dev.strata.pageserver.ingest.RmgrRegistry;
import dev.strata.pageserver.ingest.TimelineBase;
import dev.strata.pageserver.ingest.WalIngest;
import dev.strata.pageserver.ingest.WalReceiver;
import dev.strata.pageserver.initdb.InitdbImport;
import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.Redo;
import dev.strata.pageserver.redo.PageserverRedo;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pageserver.timeline.StorageConfig;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.pgcore.replication.ReplicationClient;
import dev.strata.pgcore.testing.Bench;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Reads with Java redo after pgbench: a PG 17 server with the compute's current
 * {@code wal_consistency_checking} ({@code ComputeSettings.WAL_CONSISTENCY_CHECKING} through
 * {@link Bench#computeWalConsistencyChecking()}, empty since decision 0030; or the list given with
 * {@code --wal-consistency-checking}) runs {@code pgbench -i}
 * and a fixed number of tpcb-like transactions; its WAL is ingested into a timeline imported
 * from its initdb (records stored for redo, chains cut at the ingest cap). Then every page of
 * every relation of the database is read at the last LSN, in one thread, twice (the second
 * pass with the JIT warm), through {@link PageserverRedo}, counting the records replayed and the
 * time spent in redo. Prints pages/s, records/s and the mean chain. Figures on a shared machine,
 * not a benchmark of record. Run it through {@code bench/redo-read.sh}.
 *
 * <pre>RedoReadBench [--scale 5] [--transactions 20000] [--pgbench /usr/bin/pgbench] [--wal-consistency-checking compute]</pre>
 *
 * <p>For GetPage over the page service with realistic chains (pgbench for 10 minutes), next to
 * the image-only figure, see {@link GetPageRedoBench}.
 */
public final class RedoReadBench {

    public static void main(String[] args) throws Exception {
        Map<String, String> defaults = new LinkedHashMap<>();
        defaults.put("scale", "5");
        defaults.put("transactions", "20000");
        defaults.put("pgbench", "/usr/bin/pgbench");
        defaults.put("wal-consistency-checking", "compute");
        Map<String, String> opt = Bench.options("RedoReadBench", defaults, args);
        String scale = opt.get("scale");
        int transactions = Integer.parseInt(opt.get("transactions"));
        String pgbench = opt.get("pgbench");
        String wcc = Bench.walConsistencyChecking(opt.get("wal-consistency-checking"));
        System.out.printf("RedoReadBench %s; wal_consistency_checking = '%s'%n", opt, wcc);
        Path dir = Files.createTempDirectory("redo-read-bench");
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        Map<String, String> settings = Map.of("wal_level", "replica", "full_page_writes", "on", "fsync", "off",
                "wal_consistency_checking", wcc, "max_wal_size", "8GB",
                "checkpoint_timeout", "1h", "autovacuum", "off", "wal_keep_size", "4GB");
        LayerStore store = null;
        try (PostgresServer pg = PostgresServer.builder().settings(settings).start()) {
            pg.stop();
            InitdbImport.Inspected inspected = InitdbImport.inspect(pg.dataDir());
            store = LayerStore.create(dir.resolve("timeline"), TimelineId.random(), inspected.checkpointLsn(),
                    StorageConfig.DEFAULTS);
            InitdbImport.importInto(pg.dataDir(), inspected, store);
            pg.start();
            WalIngest ingest = new WalIngest(store, RmgrRegistry.defaults(), inspected.dataChecksums(),
                    TimelineBase.IMPORTED, inspected.checkpointLsn());
            ReplicationClient.Options source = new ReplicationClient.Options(pg.host(), pg.port(), pg.user(),
                    pg.password(), "redo-read-bench", Duration.ofSeconds(5));
            Lsn end;
            try (WalReceiver rx = new WalReceiver(ingest, inspected.endLsn(),
                    inspected.checkpointLsn(), List.of(source), group).start()) {
                exec(List.of(pgbench, "-i", "-q", "-s", scale, pg.connectionUri("postgres")));
                exec(List.of(pgbench, "-n", "-c", "4", "-j", "2", "-t", Integer.toString(transactions / 4),
                        pg.connectionUri("postgres")));
                try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres")); Statement s = c.createStatement();
                     ResultSet rs = s.executeQuery("SELECT pg_current_wal_flush_lsn()")) {
                    rs.next();
                    end = Lsn.parse(rs.getString(1));
                }
                long t0 = System.nanoTime();
                rx.awaitLsn(end.pageOffset(8192) == 24 ? end.pageStart(8192) : end, Duration.ofMinutes(10));
                System.out.printf("ingested to %s (%.1f s after pgbench ended); blocks stored as records: %s%n", end,
                        (System.nanoTime() - t0) / 1e9, ingest.storedRecordCounts());
                long dbOid;
                try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres")); Statement s = c.createStatement();
                     ResultSet rs = s.executeQuery("SELECT oid FROM pg_database WHERE datname = 'postgres'")) {
                    rs.next();
                    dbOid = rs.getLong(1);
                }
                Lsn at = store.lastRecordLsn();
                for (int pass = 1; pass <= 2; pass++) {
                    readAll(store, (int) dbOid, at, pass);
                }
            }
        } finally {
            if (store != null) {
                store.close();
            }
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
            dev.strata.pgcore.fs.FileTrees.deleteRecursively(dir);
        }
    }

    private static void readAll(LayerStore store, int dbOid, Lsn at, int pass) {
        PageserverRedo redo = new PageserverRedo();
        long[] stats = new long[3]; // applies, records, nanos in redo
        Redo counting = (key, base, records) -> {
            long t = System.nanoTime();
            byte[] page = redo.apply(key, base, records);
            stats[2] += System.nanoTime() - t;
            stats[0]++;
            stats[1] += records.size();
            return page;
        };
        RelDirectory dir = RelDirectory.decode(store.getValue(Key.relationDirectory(1663, dbOid), at, redo));
        long pages = 0;
        long t0 = System.nanoTime();
        for (RelDirectory.RelFork f : dir.entries()) {
            byte[] size = store.getValue(Key.relationSize(1663, dbOid, f.relNumber(), f.fork()), at, redo);
            long blocks = size == null ? 0 : BlockCount.decode(size);
            for (int b = 0; b < blocks; b++) {
                store.getValue(Key.relationBlock(1663, dbOid, f.relNumber(), f.fork(), b), at, counting);
                pages++;
            }
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.printf("pass %d: %d pages in %.2f s (%.0f pages/s, one thread); %d pages replayed %d records "
                        + "(mean chain %.1f) in %.2f s of redo: %.0f records/s%n", pass, pages, secs, pages / secs,
                stats[0], stats[1], stats[0] == 0 ? 0.0 : (double) stats[1] / stats[0], stats[2] / 1e9,
                stats[1] / (stats[2] / 1e9));
    }

    private static void exec(List<String> cmd) throws Exception {
        Path log = Files.createTempFile("redo-read-bench", ".log");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(30, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException(cmd.get(0) + " timed out");
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", cmd) + " failed:\n" + Files.readString(log));
            }
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
