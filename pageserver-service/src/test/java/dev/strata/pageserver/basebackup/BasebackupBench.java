package dev.strata.pageserver.basebackup;

import dev.strata.pageserver.initdb.InitdbImport;
import dev.strata.pageserver.redo.PageserverRedo;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pageserver.timeline.StorageConfig;
import dev.strata.pgcore.fs.FileTrees;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.postgres.PostgresServer;
import java.io.BufferedOutputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Basebackup throughput (bench/basebackup.sh): a PG17 cluster filled by {@code pgbench -i -s N}
 * and stopped cleanly is imported (the same path as an initdb import: every block a put at one
 * LSN, then flushed to a delta layer file), then the basebackup at that LSN is streamed several
 * times to a discarding sink and once to a file; prints MB/s of tar bytes. Not a test.
 */
public final class BasebackupBench {

    private BasebackupBench() {
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args.length > 0 ? args[0] : "bench/out").toAbsolutePath();
        int scale = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        int passes = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        Path pgdata = out.resolve("basebackup-pgbench-s" + scale);
        if (!Files.exists(pgdata.resolve("PG_VERSION"))) {
            try (PostgresServer pg = PostgresServer.builder().dataDir(pgdata).setting("fsync", "off").start()) {
                ProcessBuilder pb = new ProcessBuilder("/usr/bin/pgbench", "-i", "-q", "-s", Integer.toString(scale),
                        "-h", pg.host(), "-p", Integer.toString(pg.port()), "-U", pg.user(), "postgres")
                        .inheritIO();
                pb.environment().put("PGPASSWORD", pg.password());
                Process p = pb.start();
                if (!p.waitFor(30, TimeUnit.MINUTES) || p.exitValue() != 0) {
                    p.destroyForcibly();
                    throw new IllegalStateException("pgbench -i failed");
                }
                pg.stop();
            }
        }
        long dirBytes;
        try (var files = Files.walk(pgdata)) {
            dirBytes = files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
        Path tl = out.resolve("basebackup-timeline");
        FileTrees.deleteRecursively(tl);
        long t0 = System.nanoTime();
        InitdbImport.Inspected what = InitdbImport.inspect(pgdata);
        LayerStore store = LayerStore.create(tl, TimelineId.random(), what.checkpointLsn(), StorageConfig.DEFAULTS);
        InitdbImport.importInto(pgdata, what, store);
        store.freezeAndFlush();
        double importSec = (System.nanoTime() - t0) / 1e9;
        System.out.printf(Locale.ROOT, "data directory %.1f MB (pgbench scale %d); import + flush %.1f s%n",
                dirBytes / 1e6, scale, importSec);
        PageserverRedo redo = new PageserverRedo();
        for (int i = 1; i <= passes; i++) {
            CountingSink sink = new CountingSink();
            long s = System.nanoTime();
            Basebackup.Result r = Basebackup.write(store, redo, what.endLsn(), what.checkpointLsn(), sink);
            double sec = (System.nanoTime() - s) / 1e9;
            System.out.printf(Locale.ROOT, "pass %d to a discarding sink: %.1f MB tar in %.2f s = %.0f MB/s (%d blocks)%n",
                    i, r.tarBytes() / 1e6, sec, r.tarBytes() / 1e6 / sec, r.relationBlocks());
        }
        Path tarFile = out.resolve("basebackup.tar");
        long s = System.nanoTime();
        Basebackup.Result r;
        try (OutputStream file = new BufferedOutputStream(Files.newOutputStream(tarFile), 1 << 20)) {
            r = Basebackup.write(store, redo, what.endLsn(), what.checkpointLsn(), file);
        }
        double sec = (System.nanoTime() - s) / 1e9;
        System.out.printf(Locale.ROOT, "to a file (page cache, no fsync): %.1f MB tar in %.2f s = %.0f MB/s%n",
                r.tarBytes() / 1e6, sec, r.tarBytes() / 1e6 / sec);
        Files.delete(tarFile);
        store.close();
    }

    private static final class CountingSink extends OutputStream {
        long bytes;

        @Override
        public void write(int b) {
            bytes++;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            bytes += len;
        }
    }
}
