package dev.strata.pageserver.ingest;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.SlruKind;
import dev.strata.pageserver.layer.Value;
import dev.strata.pageserver.redo.PageserverRedo;
import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pageserver.timeline.StorageConfig;
import dev.strata.pgcore.control.CheckPoint;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.wal.DecodedRecord;
import dev.strata.pgcore.wal.RmgrId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Benchmark main (run by {@code bench/ingest-metadata.sh}): the cost of the non-page state on
 * an IMPORTED timeline. N decoded commit records (each with one subtransaction on another
 * CLOG page: two CLOG operations and a CheckPoint change) go through {@link WalIngest} into an
 * in-memory layer on one thread; then a CLOG page built from 32 768 operations is read through
 * {@link PageserverRedo} (what a basebackup or GetPage pays before compaction makes an image).
 */
public final class IngestMetadataBench {

    private IngestMetadataBench() {
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 500_000;
        Path dir = Files.createTempDirectory("strata-ingest-bench");
        Lsn start = Lsn.of(0x0100_0000L);
        try (LayerStore store = LayerStore.create(dir, TimelineId.random(), start, StorageConfig.DEFAULTS)) {
            CheckPoint cp = new CheckPoint(start, 1, 1, true, 1, 100, 16384, 1, 1, 3, 1, 1, 1, 0, 0, 0, 0);
            store.put(Key.checkpoint(), start.plus(8), new Value.Image(cp.encode()));
            store.position().walIngested(start.plus(8));
            WalIngest ingest = new WalIngest(store, RmgrRegistry.defaults(), false, TimelineBase.IMPORTED, start);
            SyntheticRecords wal = new SyntheticRecords(start);
            List<DecodedRecord> recs = new ArrayList<>();
            long maxXid = 100_000L + n;
            for (long p = 0; p <= maxXid / 32768; p++) {
                recs.add(wal.record(RmgrId.CLOG.id(), 0, 0, SyntheticRecords.le(8).putLong(p).array()));
            }
            for (int i = 0; i < n; i++) {
                recs.add(wal.record(RmgrId.TRANSACTION.id(), 0x80, 100 + i,
                        SyntheticRecords.le(20).putLong(1).putInt(2).putInt(1).putInt(100_000 + i).array()));
            }
            long t0 = System.nanoTime();
            for (DecodedRecord r : recs) {
                ingest.ingest(r);
            }
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.printf("ingest: %d commit records in %.2f s = %.0f records/s (%d CheckPoint puts)%n", n, s, n / s,
                    ingest.checkpointUpdates());
            PageserverRedo redo = new PageserverRedo();
            Key page = Key.slruPage(SlruKind.CLOG, 0, 1);
            for (int rep = 0; rep < 20; rep++) {
                long t1 = System.nanoTime();
                byte[] v = store.getValue(page, store.lastRecordLsn(), redo);
                if (rep >= 15) {
                    System.out.printf("read: CLOG page built from ~32768 operations in %.1f ms (byte 0 = 0x%02x)%n",
                            (System.nanoTime() - t1) / 1e6, v[0]);
                }
            }
        } finally {
            dev.strata.pgcore.fs.FileTrees.deleteRecursively(dir);
        }
    }
}
