package dev.strata.pageserver.timeline;

import static dev.strata.pageserver.timeline.PrimaryFixtures.awaitDiskConsistent;
import static dev.strata.pageserver.timeline.PrimaryFixtures.computeAt;
import static dev.strata.pageserver.timeline.PrimaryFixtures.execute;
import static dev.strata.pageserver.timeline.PrimaryFixtures.insertLsn;
import static dev.strata.pageserver.timeline.PrimaryFixtures.query;
import static dev.strata.pageserver.timeline.PrimaryFixtures.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.DeltaLayer;
import dev.strata.pageserver.layer.ImageLayer;
import dev.strata.pageserver.layer.LayerMap;
import dev.strata.pageserver.layer.LayerName;
import dev.strata.pageserver.remote.IndexPart;
import dev.strata.pageserver.remote.IndexPartCodec;
import dev.strata.pageserver.remote.RemoteLayout;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.postgres.PostgresServer;
import dev.strata.remote.Generation;
import dev.strata.remote.RemoteStorage;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * GC and retention (docs/pageserver.md, "GC and retention") on stock PostgreSQL 17 and a real
 * S3-compatible server: a primary on the root's basebackup overwrites the same 200 rows in ten
 * rounds (pgbench-like updates); branches at rounds 4 and 7. Every value of every key the root's
 * layers hold is recorded at the root's end and at both branch points; after each GC pass they
 * read back byte for byte. GC caps the cutoff at the oldest branch point, removes layers and
 * bytes, refuses branches and reads below the cutoff naming it, deletes the dropped layers'
 * objects from S3 only after an index without them was put; deleting a branch lets the cutoff
 * pass its old point and storage shrinks; deleting a timeline removes its S3 prefix; an attach
 * from S3 after GC keeps the cutoff and reads correctly (a stock primary counts the rows).
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class GcTest {

    private static final String PASSWORD = "gc-test-pw";
    private static final int ROWS = 200;
    private static final int ROUNDS = 10;

    @TempDir
    Path tmp;

    private int computes;

    @Test
    void gcKeepsEveryBranchPointAndDeletesFromS3AfterTheIndex() throws Exception {
        // Without L0 compaction (decision 0033): this test's passes remove what the images written
        // between the branch points cover, and an L1 run counts as one delta for image creation, so
        // with it fewer images come, at LSNs that depend on timing. Level0CompactionTest covers
        // compaction with branches and GC's run cuts.
        StorageConfig config = StorageConfig.DEFAULTS.withCheckpointDistanceBytes(2L << 20).withCompactionThreshold(1_000_000);
        Timeline.Options options = new Timeline.Options(Duration.ofSeconds(1), 4, Duration.ofSeconds(5), "pageserver");
        try (S3TimelineFixture s3 = S3TimelineFixture.start(tmp.resolve("s3"))) {
            RecordingStorage storage = new RecordingStorage(s3.storage());
            TimelineManager a = new TimelineManager(tmp.resolve("ps-a"), config, options, s3.group(),
                    new RemoteTimeline(storage, Generation.of(1)));
            TimelineId root = TimelineId.random();
            Timeline rootTl = a.create(new TimelineManager.CreateRequest(root, null, true, false, List.of(), PASSWORD));
            assertThat(rootTl.config().retention()).isEqualTo(Retention.DEFAULTS);

            Timeline b1;
            Timeline b2;
            Lsn end8;
            CompletableFuture<Lsn> lastRounds;
            TimelineManager.GcResult gc1;
            long bytesBefore;
            Map<Key, byte[]> atEnd8;
            Map<Key, byte[]> atB1;
            Map<Key, byte[]> atB2;
            Lsn end;
            try (PostgresServer primary = compute(rootTl, rootTl.lastRecordLsn(), "primary")) {
                rootTl.setWalSources(List.of(source(primary)));
                execute(primary, "CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)");
                execute(primary, "INSERT INTO t SELECT g, 0 FROM generate_series(1, " + ROWS + ") g");
                Timeline bb1 = null;
                Timeline bb2 = null;
                for (int r = 1; r <= 8; r++) {
                    execute(primary, "UPDATE t SET v = v + 1");
                    if (r == 4 || r == 7) {
                        Timeline c = a.branch(TimelineId.random(), root, insertLsn(primary), List.of());
                        if (r == 4) {
                            bb1 = c;
                        } else {
                            bb2 = c;
                        }
                    }
                }
                b1 = bb1;
                b2 = bb2;
                end8 = insertLsn(primary);
                rootTl.awaitLsn(end8, Duration.ofSeconds(30));
                awaitDiskConsistent(rootTl, end8, primary, Duration.ofSeconds(30));
                phase("rounds 1-8 on disk");
                Lsn p1 = b1.config().startLsn();
                Lsn p2 = b2.config().startLsn();
                atEnd8 = snapshot(rootTl, end8);
                atB1 = snapshot(b1, p1);
                atB2 = snapshot(b2, p2);
                phase("snapshots");
                bytesBefore = rootTl.store().layerBytes();
                int layersBefore = layerNames(rootTl.store().layerMap()).size();

                // GC under writes: rounds 9 and 10 run while the pass does.
                lastRounds = CompletableFuture.supplyAsync(() -> {
                    try {
                        execute(primary, "UPDATE t SET v = v + 1");
                        execute(primary, "UPDATE t SET v = v + 1");
                        return insertLsn(primary);
                    } catch (SQLException e) {
                        throw new RuntimeException(e);
                    }
                });
                rootTl.setRetention(new Retention(Duration.ZERO, 0));
                int eventsBeforeGc = storage.events().size();
                gc1 = a.gc(root, Instant.now());
                phase("gc 1: " + gc1);
                end = lastRounds.get(60, TimeUnit.SECONDS);
                rootTl.awaitLsn(end, Duration.ofSeconds(30));
                rootTl.setWalSources(List.of()); // before the primary stops: its walsender waits for us

                // The cutoff stops at the oldest branch point; something was removed.
                assertThat(gc1.cutoff()).isEqualTo(p1);
                assertThat(gc1.retained()).containsExactly(p1, p2);
                assertThat(gc1.removed()).as("layers removed by %s", gc1).isNotEmpty();
                assertThat(gc1.bytesRemoved()).isPositive();
                assertThat(rootTl.gcCutoffLsn()).isEqualTo(p1);
                assertThat(TimelineConfig.read(rootTl.directory()).gcCutoffLsn()).isEqualTo(p1);
                assertThat(layerNames(rootTl.store().layerMap())).doesNotContainAnyElementsOf(gc1.removed());
                for (LayerName n : gc1.removed()) {
                    assertThat(rootTl.store().directory().resolve(n.toString())).doesNotExist();
                }
                assertThat(layersBefore).isGreaterThan(gc1.removed().size());

                // Every value at every retained point reads back exactly.
                assertSame(rootTl, end8, atEnd8);
                assertSame(b1, p1, atB1);
                assertSame(b2, p2, atB2);

                // Below the cutoff: branches, reads and waits are refused, naming it.
                Lsn below = Lsn.of(p1.value() - 8);
                assertKind(() -> a.branch(TimelineId.random(), root, below, List.of()), "GC cutoff " + p1);
                assertKind(() -> rootTl.awaitLsn(below, Duration.ofSeconds(1)), "GC cutoff " + p1);
                assertKind(() -> rootTl.getValue(Key.controlFile(), below, Duration.ofSeconds(1)), "GC cutoff " + p1);

                // S3: the dropped layers' objects go, and only after an index without them was put.
                awaitTrue(() -> rootTl.remoteStatus().layersDeleted() >= gc1.removed().size(), "S3 deletions of " + gc1.removed());
                List<Event> events = storage.events().subList(eventsBeforeGc, storage.events().size());
                Set<String> removedKeys = new TreeSet<>();
                for (Event e : events) {
                    if (e.op().equals("delete")) {
                        removedKeys.add(e.key());
                    }
                }
                assertThat(removedKeys).hasSize(gc1.removed().size());
                int firstDelete = -1;
                for (int i = 0; i < events.size(); i++) {
                    if (events.get(i).op().equals("delete")) {
                        firstDelete = i;
                        break;
                    }
                }
                boolean indexWithoutThemBefore = false;
                for (int i = 0; i < firstDelete; i++) {
                    Event e = events.get(i);
                    if (e.op().equals("put") && e.key().startsWith(RemoteLayout.indexPrefix(root))) {
                        IndexPart idx = IndexPartCodec.decode(e.bytes(), root, e.key());
                        if (!idx.layers().keySet().stream().anyMatch(gc1.removed()::contains)) {
                            indexWithoutThemBefore = true;
                            assertThat(idx.gcCutoffLsn()).isEqualTo(p1);
                        }
                    }
                }
                assertThat(indexWithoutThemBefore).as("an index without the removed layers was put before the first "
                        + "delete: %s", events).isTrue();
                Set<String> bucket = keys(storage, RemoteLayout.timelinePrefix(root));
                for (LayerName n : gc1.removed()) {
                    assertThat(bucket).noneMatch(k -> k.startsWith(RemoteLayout.timelinePrefix(root) + n + "-"));
                }
            }
            assertThat(storage.events()).noneMatch(e -> e.op().equals("delete") && !e.key().contains(root.toString()));

            // Deleting branch 1 lets the cutoff pass its old point, and storage shrinks further.
            Lsn p1 = b1.config().startLsn();
            Lsn p2 = b2.config().startLsn();
            awaitTrue(() -> b1.remoteStatus().remoteConsistentLsn().isValid(), "branch 1's index in S3");
            TimelineManager.Deleted d1 = a.delete(b1.id());
            assertThat(d1.remoteIndexes()).isEqualTo(1);
            assertThat(keys(storage, RemoteLayout.timelinePrefix(b1.id()))).isEmpty();
            long bytesAfterGc1 = rootTl.store().layerBytes();
            TimelineManager.GcResult gc2 = a.gc(root, Instant.now());
            phase("gc 2: " + gc2);
            assertThat(gc2.cutoff()).isEqualTo(p2).isGreaterThan(p1);
            assertThat(gc2.removed()).isNotEmpty();
            assertThat(rootTl.store().layerBytes()).isLessThan(bytesAfterGc1);
            assertSame(b2, p2, atB2);
            assertSame(rootTl, end8, atEnd8);
            assertThat(sumAt(b2, p2)).isEqualTo(7L * ROWS);

            // Without branches the cutoff reaches the disk-consistent LSN (horizon 0).
            awaitTrue(() -> b2.remoteStatus().remoteConsistentLsn().isValid(), "branch 2's index in S3");
            TimelineManager.Deleted d2 = a.delete(b2.id());
            assertThat(d2.remoteIndexes()).isEqualTo(1);
            assertThat(keys(storage, RemoteLayout.timelinePrefix(b2.id()))).isEmpty();
            awaitDiskConsistent(rootTl, end, null, Duration.ofSeconds(30));
            TimelineManager.GcResult gc3 = a.gc(root, Instant.now());
            phase("gc 3: " + gc3);
            assertThat(gc3.cutoff()).isGreaterThanOrEqualTo(end).isEqualTo(rootTl.gcCutoffLsn());
            assertThat(gc3.retained()).isEmpty();
            long bytesAfter = rootTl.store().layerBytes();
            phase("layer bytes of the root: " + bytesBefore + " before GC, " + bytesAfterGc1 + " after pass 1, "
                    + bytesAfter + " after pass 3 (" + rootTl.layerCounts() + ")");
            assertThat(bytesAfter).as("after three passes, from %s", bytesBefore).isLessThan(bytesBefore);
            Lsn cutoff = rootTl.gcCutoffLsn();
            assertThat(rootTl.awaitRemoteConsistent(rootTl.store().diskConsistentLsn(), Duration.ofSeconds(30))).isTrue();
            awaitTrue(() -> rootTl.remoteStatus().layersDeleted() >= gc1.removed().size() + gc2.removed().size()
                    + gc3.removed().size(), "S3 deletions of every pass");
            a.close();
            phase("before attach");

            // Attach after GC: the cutoff comes with the index; the data is the root's end.
            try (TimelineManager b = new TimelineManager(tmp.resolve("ps-b"), config, options, s3.group(),
                    new RemoteTimeline(storage, Generation.of(2)))) {
                Timeline r = b.attach(root, List.of());
                assertThat(r.gcCutoffLsn()).isEqualTo(cutoff);
                assertKind(() -> r.awaitLsn(p2, Duration.ofSeconds(1)), "GC cutoff " + cutoff);
                assertThat(sumAt(r, r.lastRecordLsn())).isEqualTo((long) ROUNDS * ROWS);
            }
        }
    }

    private static List<LayerName> layerNames(LayerMap m) {
        return m.persistentNames();
    }

    /** Every key any layer of the timeline or its ancestors holds, with its value at {@code lsn}. */
    private static Map<Key, byte[]> snapshot(Timeline t, Lsn lsn) {
        Set<Key> keys = new TreeSet<>();
        for (LayerStore s = t.store(); s != null; s = s.ancestor() == null ? null : s.ancestor().store()) {
            LayerMap m = s.layerMap();
            for (DeltaLayer d : m.deltas()) {
                d.forEachKey(keys::add);
            }
            for (ImageLayer i : m.images()) {
                i.forEachKey(keys::add);
            }
        }
        Map<Key, byte[]> out = new HashMap<>();
        for (Key k : keys) {
            out.put(k, t.store().getValue(k, lsn, t.redo()));
        }
        return out;
    }

    private static void assertSame(Timeline t, Lsn lsn, Map<Key, byte[]> expected) {
        int checked = 0;
        for (var e : expected.entrySet()) {
            byte[] now = t.store().getValue(e.getKey(), lsn, t.redo());
            assertThat(Arrays.equals(now, e.getValue())).as("%s at %s on %s", e.getKey().describe(), lsn, t.id()).isTrue();
            checked++;
        }
        assertThat(checked).isGreaterThan(100);
    }

    private final long started = System.nanoTime();

    private void phase(String what) {
        System.err.println("GcTest +" + (System.nanoTime() - started) / 1_000_000 + " ms: " + what);
    }

    private static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    private static Set<String> keys(RemoteStorage s, String prefix) {
        Set<String> out = new TreeSet<>();
        s.list(prefix).forEach(o -> out.add(o.key()));
        return out;
    }

    private static void assertKind(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String mentions) {
        assertThatThrownBy(call).isInstanceOf(TimelineException.class).hasMessageContaining(mentions)
                .satisfies(e -> assertThat(((TimelineException) e).kind()).isEqualTo(TimelineException.Kind.LSN_OUT_OF_RANGE));
    }

    /** sum(v) of t in a stock PG17 primary started from the timeline's basebackup at {@code lsn}; checks the row count. */
    private long sumAt(Timeline t, Lsn lsn) throws Exception {
        try (PostgresServer pg = compute(t, lsn, "check")) {
            assertThat(query(pg, "SELECT count(*) FROM t")).isEqualTo(Integer.toString(ROWS));
            return Long.parseLong(query(pg, "SELECT sum(v) FROM t"));
        }
    }

    /** One operation on the object store, in order (a put keeps its bytes). */
    record Event(String op, String key, byte[] bytes) {
        @Override
        public String toString() {
            return op + " " + key.substring(key.lastIndexOf('/') + 1);
        }
    }

    /**
     * The real object store, with every put, upload and delete recorded in order, so the test can
     * see that an index without a layer was put before the layer's object was deleted. Injects
     * nothing: each call goes to the real server.
     */
    static final class RecordingStorage implements RemoteStorage {
        private final RemoteStorage real;
        private final List<Event> events = new ArrayList<>();

        RecordingStorage(RemoteStorage real) {
            this.real = real;
        }

        synchronized List<Event> events() {
            return new ArrayList<>(events);
        }

        private synchronized void record(String op, String key, byte[] bytes) {
            events.add(new Event(op, key, bytes));
        }

        @Override
        public void upload(String key, Path file, int crc32c) {
            real.upload(key, file, crc32c);
            record("upload", key, null);
        }

        @Override
        public void put(String key, byte[] bytes) {
            real.put(key, bytes);
            record("put", key, bytes.clone());
        }

        @Override
        public byte[] get(String key) {
            return real.get(key);
        }

        @Override
        public void download(String key, Path target) {
            real.download(key, target);
        }

        @Override
        public List<RemoteObject> list(String prefix) {
            return real.list(prefix);
        }

        @Override
        public void delete(String key) {
            record("delete", key, null); // before: the test checks that the index put came earlier
            real.delete(key);
        }

        @Override
        public void close() {
            real.close();
        }
    }

    private PostgresServer compute(Timeline t, Lsn lsn, String name) throws Exception {
        return computeAt(t, lsn, tmp.resolve("compute-" + name + "-" + (computes++)), PASSWORD, "all");
    }
}
