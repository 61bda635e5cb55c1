package dev.strata.pageserver.timeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.key.SlruKind;
import dev.strata.pageserver.layer.AppendingRedoForTests;
import dev.strata.pageserver.layer.DeltaLayer;
import dev.strata.pageserver.layer.LayerMap;
import dev.strata.pageserver.layer.LayerName;
import dev.strata.pageserver.layer.LayerRetiredException;
import dev.strata.pageserver.layer.ReconstructState;
import dev.strata.pageserver.layer.Value;
import dev.strata.pgcore.fs.Fsync;
import dev.strata.pgcore.fs.FsyncFailedException;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * L0 -> L1 compaction ({@link Level0Compactor}, {@link LayerStore#compactLevel0()}): every value
 * at every LSN reads the same before and after (and after a restart), with images among the L0
 * layers, on a branch and its parent; a crash at every force of a compaction leaves a directory
 * that opens and reads the same; readers racing a compaction see the same values.
 */
class Level0CompactionTest {

    private static final TimelineId TL = TimelineId.parse("aa00000000000000000000000000cc01");
    private static final TimelineId CHILD = TimelineId.parse("aa00000000000000000000000000cc02");
    private static final AppendingRedoForTests REDO = AppendingRedoForTests.INSTANCE;
    /** Four L0 layers trigger a compaction; L1 layers cut at 2 KB (several per run); 16 keys per image. */
    private static final StorageConfig CONFIG = StorageConfig.DEFAULTS.withCheckpointDistanceBytes(1L << 30)
            .withImageLayerKeys(16).withImageCreationThreshold(3).withCompactionThreshold(4).withCompactionTargetBytes(2000);

    @TempDir
    Path dir;

    private static List<Key> keys() {
        List<Key> keys = new ArrayList<>();
        for (int b = 0; b < 30; b++) {
            keys.add(Key.relationBlock(1663, 5, 16384, 0, b));
            keys.add(Key.relationBlock(1663, 5, 16390, 1, b * 1000));
        }
        keys.add(Key.relationSize(1663, 5, 16384, 0));
        keys.add(Key.relationSize(1663, 5, 16390, 1));
        keys.add(Key.relmapperFile(1664, 0));
        keys.add(Key.relationDirectory(1663, 5));
        for (int p = 0; p < 4; p++) {
            keys.add(Key.slruPage(SlruKind.CLOG, 0, p));
        }
        keys.add(Key.checkpoint());
        return keys;
    }

    /** A history of {@code layers} flushes of random puts; image compaction after some of them. */
    private static History load(LayerStore store, long seed, int layers, long fromLsn, ReferenceModel model, boolean images) {
        Random r = new Random(seed);
        List<Key> keys = keys();
        long lsn = fromLsn;
        List<Long> lsns = new ArrayList<>();
        for (int layer = 0; layer < layers; layer++) {
            int records = 5 + r.nextInt(30);
            for (int i = 0; i < records; i++) {
                lsn += 1 + r.nextInt(40);
                lsns.add(lsn);
                Set<Key> touched = new HashSet<>();
                for (int k = 1 + r.nextInt(3); k > 0; k--) {
                    Key key = keys.get(r.nextInt(keys.size()));
                    if (touched.add(key)) {
                        Value v = randomValue(r, model.hasKey(key), lsn);
                        store.put(key, Lsn.of(lsn), v);
                        model.put(key, lsn, v);
                    }
                }
            }
            store.freezeAndFlush();
            if (images && layer % 5 == 4) {
                store.compact(REDO);
            }
        }
        return new History(lsns, lsn);
    }

    private record History(List<Long> lsns, long last) {
    }

    private static Value randomValue(Random r, boolean keyExists, long lsn) {
        byte[] payload = new byte[1 + r.nextInt(40)];
        r.nextBytes(payload);
        payload[0] = (byte) lsn;
        int kind = r.nextInt(100);
        if (!keyExists || kind < 10) {
            return kind % 2 == 0 ? new Value.Image(payload) : new Value.WalRecord(payload, true);
        }
        return kind < 15 ? new Value.WalRecord(payload, true) : new Value.WalRecord(payload, false);
    }

    /** Every key at every put LSN, one below each, and the start: what reads return, by "key@lsn". */
    private static Map<String, byte[]> readAll(LayerStore store, History h, long from) {
        Map<String, byte[]> out = new HashMap<>();
        TreeSet<Long> at = new TreeSet<>();
        at.add(from);
        for (long l : h.lsns()) {
            at.add(l);
            at.add(l - 1);
        }
        for (Key key : keys()) {
            for (long l : at) {
                out.put(key + "@" + l, store.getValue(key, Lsn.of(l), REDO));
            }
        }
        return out;
    }

    private static void assertSameReads(Map<String, byte[]> expected, Map<String, byte[]> actual, String when) {
        assertThat(actual.keySet()).isEqualTo(expected.keySet());
        for (Map.Entry<String, byte[]> e : expected.entrySet()) {
            assertThat(actual.get(e.getKey())).as("%s: %s", when, e.getKey()).isEqualTo(e.getValue());
        }
    }

    private static void assertMatchesModel(LayerStore store, ReferenceModel model, History h) {
        for (Key key : keys()) {
            for (long l : h.lsns()) {
                assertThat(store.getValue(key, Lsn.of(l), REDO)).as("%s at %s", key.describe(), Lsn.of(l))
                        .isEqualTo(model.get(key, l));
            }
        }
    }

    /** Compacts until nothing is left to do; the passes that wrote something. */
    private static int compactAll(LayerStore store) {
        int passes = 0;
        for (int i = 0; i < 100; i++) {
            int before = store.layerMap().level0Deltas().size();
            store.compactLevel0();
            if (store.layerMap().level0Deltas().size() == before) {
                return passes;
            }
            passes++;
        }
        throw new AssertionError("compaction did not settle");
    }

    @Test
    void everyReadIsTheSameAfterCompactionAndAfterARestart() {
        ReferenceModel model = new ReferenceModel();
        LayerStore store = LayerStore.create(dir, TL, Lsn.of(0x100), CONFIG);
        History h;
        Map<String, byte[]> before;
        long visitsBefore;
        try {
            h = load(store, 7, 13, 0x100, model, true);
            assertThat(store.layerMap().level0Deltas()).hasSize(13);
            assertThat(store.layerMap().images()).as("images among the L0 layers").isNotEmpty();
            assertMatchesModel(store, model, h);
            long v0 = store.readAmplification().totals().layersVisited();
            before = readAll(store, h, 0x100);
            visitsBefore = store.readAmplification().totals().layersVisited() - v0;

            // Runs end at each image LSN (images after layers 5 and 10): two runs of 5 L0 layers; the
            // last 3 stay, under the threshold of 4.
            assertThat(compactAll(store)).isEqualTo(2);
            LayerMap map = store.layerMap();
            assertThat(map.level0Deltas()).hasSize(3);
            List<DeltaLayer> l1 = map.deltas().stream().filter(d -> !d.isLevel0()).toList();
            assertThat(l1).as("cut at 2 KB").hasSizeGreaterThan(3);
            java.util.Map<Long, List<DeltaLayer>> runs = new java.util.TreeMap<>();
            for (DeltaLayer d : l1) {
                assertThat(d.isLevel0()).isFalse();
                runs.computeIfAbsent(d.lsnStart(), x -> new ArrayList<>()).add(d);
            }
            assertThat(runs).hasSize(2);
            assertThat(runs.keySet()).first().isEqualTo(0x101L);
            for (List<DeltaLayer> run : runs.values()) { // one LSN range, disjoint key ranges
                assertThat(run).extracting(DeltaLayer::lsnEnd).containsOnly(run.getFirst().lsnEnd());
                List<DeltaLayer> byKey = run.stream().sorted((a, b) -> a.keyRange().start().compareTo(b.keyRange().start())).toList();
                for (int i = 1; i < byKey.size(); i++) {
                    assertThat(byKey.get(i - 1).keyRange().end()).isLessThanOrEqualTo(byKey.get(i).keyRange().start());
                }
            }
            for (var img : map.images()) { // no L1 layer reaches across an image's LSN
                assertThat(l1).noneMatch(d -> d.lsnStart() <= img.lsnStart() && img.lsnStart() < d.lsnEnd() - 1);
            }
            assertThat(store.durableMetadata().layers()).isEqualTo(map.persistentNames());
            assertThat(layerFiles(dir)).as("the L0 files are gone").isEqualTo(new TreeSet<>(map.persistentNames()));

            long v1 = store.readAmplification().totals().layersVisited();
            assertSameReads(before, readAll(store, h, 0x100), "after compaction");
            long visitsAfter = store.readAmplification().totals().layersVisited() - v1;
            assertThat(visitsAfter).as("layers visited by the same reads").isLessThan(visitsBefore);
            assertMatchesModel(store, model, h);
        } finally {
            store.close();
        }
        LayerStore reopened = LayerStore.open(dir, CONFIG);
        try {
            assertSameReads(before, readAll(reopened, h, 0x100), "after a restart");
            // More history on top: new L0 layers above the L1 layers, compacted again.
            History more = load(reopened, 8, 9, h.last(), model, true);
            assertThat(compactAll(reopened)).isPositive();
            assertThat(reopened.layerMap().level0Deltas()).isEmpty();
            assertMatchesModel(reopened, model, h);
            assertMatchesModel(reopened, model, more);
        } finally {
            reopened.close();
        }
    }

    @Test
    void aKeyReadVisitsOnlyTheL1LayerWhoseRangeHoldsIt() {
        ReferenceModel model = new ReferenceModel();
        try (LayerStore store = LayerStore.create(dir, TL, Lsn.of(0x100), CONFIG)) {
            History h = load(store, 11, 12, 0x100, model, false);
            Key key = Key.relationBlock(1663, 5, 16384, 0, 3);
            ReconstructState s = new ReconstructState();
            store.layerMap().search(key, h.last(), s);
            int l0Visits = s.layersVisited();
            compactAll(store);
            assertThat(store.layerMap().deltas()).hasSizeGreaterThan(2);
            s.reset();
            store.layerMap().search(key, h.last(), s);
            assertThat(s.layersVisited()).as("one L1 layer instead of %d L0 layers", l0Visits).isLessThanOrEqualTo(1);
            assertThat(store.getValue(key, Lsn.of(h.last()), REDO)).isEqualTo(model.get(key, h.last()));
        }
    }

    @Test
    void fewerL0LayersThanTheThresholdAreLeftAndAGapOrABranchPointEndsARun() {
        ReferenceModel model = new ReferenceModel();
        try (LayerStore store = LayerStore.create(dir, TL, Lsn.of(0x100), CONFIG)) {
            load(store, 3, 3, 0x100, model, false);
            assertThat(store.compactLevel0()).as("3 < 4 L0 layers").isEmpty();
            assertThat(store.layerMap().level0Deltas()).hasSize(3);

            load(store, 4, 3, 0x10000, model, false);
            List<DeltaLayer> l0 = store.layerMap().level0Deltas();
            // GC-like gap: without the second L0 layer the run is the first one alone.
            LayerMap gapped = store.layerMap().without(Set.of(l0.get(1).name()));
            Level0Compactor.Plan plan = Level0Compactor.plan(gapped, 4);
            assertThat(plan.level0()).containsExactly(l0.getFirst());
            Level0Compactor.Plan all = Level0Compactor.plan(store.layerMap(), 4);
            assertThat(all.level0()).isEqualTo(l0);
            // A branch point (or the GC cutoff) inside the third layer: the run ends below it; the
            // layer that reaches it starts the next run.
            Lsn point = Lsn.of(l0.get(2).lsnStart() + 1);
            assertThat(Level0Compactor.plan(store.layerMap(), 4, List.of(point)).level0()).isEqualTo(l0.subList(0, 2));
            // One at the last LSN of the second layer: that layer reaches it, so it ends the run before it.
            Lsn atEnd = Lsn.of(l0.get(1).lsnEnd() - 1);
            assertThat(Level0Compactor.plan(store.layerMap(), 4, List.of(atEnd)).level0()).isEqualTo(l0.subList(0, 1));
            store.compactLevel0(List.of(point));
            assertThat(store.layerMap().level0Deltas()).isEqualTo(l0.subList(2, l0.size()));
        }
    }

    @Test
    void aBranchAndItsParentReadTheSameAfterBothCompact() {
        ReferenceModel parentModel = new ReferenceModel();
        LayerStore parent = LayerStore.create(dir.resolve("parent"), TL, Lsn.of(0x100), CONFIG);
        LayerStore child = null;
        try {
            History ph = load(parent, 21, 8, 0x100, parentModel, true);
            long branchAt = ph.lsns().get(ph.lsns().size() / 2);
            // Parent history continues above the branch point; the child writes its own.
            History ph2 = load(parent, 22, 6, ph.last(), parentModel, true);
            child = LayerStore.create(dir.resolve("child"), CHILD, Lsn.of(ph2.last() + 0x1000), CONFIG);
            child.ancestor(new LayerStore.Ancestor(parent, Lsn.of(branchAt)));
            History ch = load(child, 23, 7, ph2.last() + 0x1000, new ReferenceModel(), false);
            History parentAll = new History(concat(ph.lsns(), ph2.lsns()), ph2.last());
            Map<String, byte[]> parentBefore = readAll(parent, parentAll, 0x100);
            Map<String, byte[]> childBefore = readAll(child, ch, ph2.last() + 0x1000);
            // the child below its own layers reads the parent at the branch point
            Key k = keys().getFirst();
            assertThat(childBefore.get(k + "@" + (ph2.last() + 0x1000))).isEqualTo(parentModel.get(k, branchAt));

            assertThat(compactAll(parent)).isPositive();
            assertThat(compactAll(child)).isPositive();
            assertSameReads(parentBefore, readAll(parent, parentAll, 0x100), "parent after compaction");
            assertSameReads(childBefore, readAll(child, ch, ph2.last() + 0x1000), "child after compaction");
        } finally {
            if (child != null) {
                child.close();
            }
            parent.close();
        }
    }

    private static List<Long> concat(List<Long> a, List<Long> b) {
        List<Long> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    /** A read holding a layer map from before a compaction meets a retired L0 and searches again. */
    @Test
    void aReadOnAnOldSnapshotSearchesAgain() {
        ReferenceModel model = new ReferenceModel();
        try (LayerStore store = LayerStore.create(dir, TL, Lsn.of(0x100), CONFIG)) {
            History h = load(store, 5, 5, 0x100, model, false);
            LayerMap old = store.layerMap();
            compactAll(store);
            Key key = Key.relationBlock(1663, 5, 16384, 0, 1);
            ReconstructState s = new ReconstructState();
            // A key every L0 layer holds a version of would do; any key reaches an L0 layer here.
            assertThatThrownBy(() -> old.search(key, h.last(), s)).isInstanceOf(LayerRetiredException.class);
            assertThat(store.getValue(key, Lsn.of(h.last()), REDO)).isEqualTo(model.get(key, h.last()));
        }
    }

    @Test
    void readersRacingCompactionsSeeTheSameValues() throws Exception {
        ReferenceModel model = new ReferenceModel();
        try (LayerStore store = LayerStore.create(dir, TL, Lsn.of(0x100), CONFIG)) {
            History h = load(store, 9, 3, 0x100, model, true);
            assertMatchesModel(store, model, h);
            Map<String, byte[]> expected = readAll(store, h, 0x100); // the model is not thread-safe
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Key> keys = keys();
            List<Long> fixed = List.copyOf(h.lsns());
            List<Thread> readers = new ArrayList<>();
            int[] reads = new int[2];
            for (int t = 0; t < 2; t++) {
                int me = t;
                readers.add(Thread.ofPlatform().start(() -> {
                    Random r = new Random(me);
                    try {
                        while (!stop.get()) {
                            Key key = keys.get(r.nextInt(keys.size()));
                            long at = fixed.get(r.nextInt(fixed.size()));
                            byte[] got = store.getValue(key, Lsn.of(at), REDO);
                            if (!java.util.Arrays.equals(got, expected.get(key + "@" + at))) {
                                throw new AssertionError(key.describe() + " at " + Lsn.of(at));
                            }
                            reads[me]++;
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            long lsn = h.last();
            int compactions = 0;
            try {
                // The writer only appends above the LSNs the readers read at: their values never change.
                for (int round = 0; round < 6; round++) {
                    History more = load(store, 100 + round, 4, lsn, model, false);
                    lsn = more.last();
                    if (!store.compactLevel0().isEmpty()) {
                        compactions++;
                    }
                }
            } finally {
                stop.set(true);
                for (Thread t : readers) {
                    t.join(60_000);
                }
            }
            assertThat(failure.get()).isNull();
            assertThat(compactions).isGreaterThanOrEqualTo(5);
            assertThat(reads[0] + reads[1]).isPositive();
        }
    }

    /** Thrown by {@link CrashingFsync}: the process "dies" here (the directory was copied first). */
    private static final class SimulatedCrash extends RuntimeException {
        SimulatedCrash() {
            super("simulated crash", null, false, false);
        }
    }

    /**
     * A fault-injecting {@link Fsync}: once armed, at its {@code crashAt}-th force it copies the
     * timeline directory as it is at that instant (what a kill -9 leaves: written bytes are in the
     * page cache) and throws, so nothing after that point happens in the copy.
     */
    private static final class CrashingFsync implements Fsync {
        private final Path dir;
        private final Path copy;
        private final int crashAt;
        private volatile boolean armed;
        private int forces;
        private boolean crashed;

        CrashingFsync(Path dir, Path copy, int crashAt) {
            this.dir = dir;
            this.copy = copy;
            this.crashAt = crashAt;
        }

        @Override
        public void force(FileChannel channel, Path file, boolean metadata) throws FsyncFailedException {
            if (armed && ++forces == crashAt) {
                crashed = true;
                copyDirectory(dir, copy);
                throw new SimulatedCrash();
            }
            Fsync.SYSTEM.force(channel, file, metadata);
        }
    }

    private static void copyDirectory(Path from, Path to) {
        try (Stream<Path> files = Files.list(from)) {
            Files.createDirectories(to);
            for (Path f : files.toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Set<LayerName> layerFiles(Path d) {
        Set<LayerName> out = new TreeSet<>();
        try (Stream<Path> files = Files.list(d)) {
            files.forEach(f -> {
                LayerName n = LayerName.tryParse(f.getFileName().toString());
                if (n != null) {
                    out.add(n);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /**
     * A crash at every force a compaction makes (each L1 file, its directory entry, the metadata's
     * temp file and its rename): the directory as the crash left it opens, lists either the L0
     * layers or the L1 layers (never both, never a missing file), holds no other layer file after
     * the open, reads every key at every LSN as before, and compacts to the same reads again.
     */
    @Test
    void aCrashAtEveryStepOfACompactionLeavesADirectoryThatReadsTheSame() {
        Path template = dir.resolve("template");
        ReferenceModel model = new ReferenceModel();
        History h;
        Map<String, byte[]> before;
        Set<LayerName> level0;
        Set<LayerName> firstRunNames;
        try (LayerStore store = LayerStore.create(template, TL, Lsn.of(0x100), CONFIG)) {
            h = load(store, 31, 6, 0x100, model, true);
            before = readAll(store, h, 0x100);
            level0 = new TreeSet<>(store.durableMetadata().layers());
            firstRunNames = new TreeSet<>();
            Level0Compactor.plan(store.layerMap(), CONFIG.compactionThreshold()).level0().forEach(d -> firstRunNames.add(d.name()));
        }
        assertThat(firstRunNames).as("the run before the image after the fifth layer").hasSize(5);
        int crashes = 0;
        boolean sawOld = false;
        boolean sawNew = false;
        for (int crashAt = 1; crashAt < 200; crashAt++) {
            Path live = dir.resolve("live-" + crashAt);
            Path after = dir.resolve("crashed-" + crashAt);
            copyDirectory(template, live);
            CrashingFsync fsync = new CrashingFsync(live, after, crashAt);
            LayerStore store = LayerStore.open(live, CONFIG, fsync);
            fsync.armed = true;
            try {
                store.compactLevel0();
            } catch (SimulatedCrash expected) {
                // the process died here
            } finally {
                store.close();
            }
            if (!fsync.crashed) {
                // Every force passed: the compaction completed; the live directory is the result.
                try (LayerStore done = LayerStore.open(live, CONFIG)) {
                    assertThat(done.layerMap().level0Deltas()).hasSize(1); // the sixth, above the image
                    assertSameReads(before, readAll(done, h, 0x100), "completed compaction");
                }
                break;
            }
            crashes++;
            try (LayerStore reopened = LayerStore.open(after, CONFIG)) {
                Set<LayerName> listed = new TreeSet<>(reopened.durableMetadata().layers());
                boolean old = listed.equals(level0);
                Set<LayerName> firstRun = new TreeSet<>(level0);
                firstRun.removeAll(listed);
                // compacted: the first run's L0 layers all replaced, by L1 layers
                boolean compacted = firstRun.equals(firstRunNames) && listed.stream().anyMatch(n -> !n.keyRange()
                        .equals(dev.strata.pageserver.key.KeyRange.ALL));
                assertThat(old || compacted).as("crash at force %d: the L0 layers or the L1 layers, not a mix: %s", crashAt, listed)
                        .isTrue();
                sawOld |= old;
                sawNew |= compacted;
                assertThat(layerFiles(after)).as("unlisted layer files are removed at open").isEqualTo(listed);
                try (Stream<Path> files = Files.list(after)) {
                    assertThat(files.filter(f -> f.toString().endsWith(".strata-tmp"))).isEmpty();
                }
                assertSameReads(before, readAll(reopened, h, 0x100), "crash at force " + crashAt);
                compactAll(reopened);
                assertThat(reopened.layerMap().level0Deltas()).hasSizeLessThanOrEqualTo(1);
                assertSameReads(before, readAll(reopened, h, 0x100), "compacted after the crash at force " + crashAt);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        assertThat(crashes).as("forces during one compaction").isGreaterThanOrEqualTo(6);
        assertThat(sawOld).as("crashes before the metadata rename").isTrue();
        assertThat(sawNew).as("a crash after the metadata rename").isTrue();
    }
}
