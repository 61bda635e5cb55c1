package dev.strata.pageserver.timeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.ingest.TimelineBase;
import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.AppendingRedoForTests;
import dev.strata.pageserver.layer.Value;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.testing.FailingFsync;
import dev.strata.pgcore.testing.SmallFilesystem;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Layer flushes on a full disk (a real small tmpfs) and after a failed fsync (injected: a real
 * EIO cannot be produced): nothing partial is ever listed, the disk-consistent LSN never moves
 * past what is durable, a full disk is survived without a restart and a failed fsync is not.
 */
class LayerStoreFaultTest {

    private static final TimelineId TL = TimelineId.parse("cafe0000000000000000000000000002");
    private static final int PAGES = 200; // 200 x 8 KiB: a 1.6 MB delta layer
    private static final AppendingRedoForTests REDO = AppendingRedoForTests.INSTANCE;

    private static Key page(int blk) {
        return Key.relationBlock(1663, 5, 16384, 0, blk);
    }

    private static byte[] image(int blk, int version) {
        byte[] b = new byte[8192];
        Arrays.fill(b, (byte) (blk * 31 + version));
        return b;
    }

    /** Puts every page at LSNs after {@code base}, one record each; returns the last LSN. */
    private static Lsn putAll(LayerStore store, long base, int version) {
        Lsn lsn = Lsn.INVALID;
        for (int blk = 0; blk < PAGES; blk++) {
            lsn = Lsn.of(base + 0x10L * (blk + 1));
            store.put(page(blk), lsn, new Value.Image(image(blk, version)));
        }
        return lsn;
    }

    /** Files in the store's directory other than the metadata: layers and leftovers. */
    private static List<String> otherFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> !n.equals(TimelineMetadataFile.FILE_NAME)).sorted().toList();
        }
    }

    @Test
    void aFullDiskFailsTheFlushCleanlyAndTheNextFlushAfterFreeingSucceeds(@TempDir Path tmp) throws Exception {
        try (SmallFilesystem fs = SmallFilesystem.mount(tmp, 4)) {
            Path dir = fs.root().resolve("layers");
            try (LayerStore store = LayerStore.create(dir, TL, Lsn.of(0x100), StorageConfig.DEFAULTS)) {
                Lsn last = putAll(store, 0x100, 1);
                store.freeze();
                fs.fill();
                assertThatThrownBy(store::flush).isInstanceOf(StorageException.class)
                        .hasMessageContaining("No space left on device")
                        .hasMessageContaining("disk-consistent LSN stays 0/100")
                        .satisfies(e -> assertThat(((StorageException) e).category()).isEqualTo(StorageException.Category.WRITE_FAILED));
                assertThat(store.diskConsistentLsn()).isEqualTo(Lsn.of(0x100));
                assertThat(TimelineMetadataFile.read(dir).layers()).as("nothing listed").isEmpty();
                assertThat(otherFiles(dir)).as("no partial layer or temp file left taking space").isEmpty();
                assertThat(store.frozenLayerCount()).as("the data stays in memory").isEqualTo(1);
                assertThat(store.getValue(page(7), last, REDO)).isEqualTo(image(7, 1));
                // Still full: fails the same way again, nothing moves.
                assertThatThrownBy(store::flush).isInstanceOf(StorageException.class);
                assertThat(store.diskConsistentLsn()).isEqualTo(Lsn.of(0x100));

                fs.free();
                assertThat(store.flush()).isEqualTo(last);
                assertThat(TimelineMetadataFile.read(dir).layers()).hasSize(1);
            }
            try (LayerStore reopened = LayerStore.open(dir, StorageConfig.DEFAULTS)) {
                assertThat(reopened.getValue(page(199), reopened.diskConsistentLsn(), REDO)).isEqualTo(image(199, 1));
            }
        }
    }

    @Test
    void aFailedFsyncOfALayerStopsTheStoreForGoodAndARestartTrustsOnlyListedLayers(@TempDir Path dir) throws Exception {
        FailingFsync fsync = new FailingFsync();
        Lsn durable;
        try (LayerStore store = LayerStore.create(dir, TL, Lsn.of(0x100), StorageConfig.DEFAULTS, fsync)) {
            durable = putAll(store, 0x100, 1);
            assertThat(store.freezeAndFlush()).isEqualTo(durable);
            putAll(store, 0x10000, 2);
            store.freeze();
            fsync.failFiles(p -> p.getFileName().toString().endsWith(".strata-tmp")
                    && !p.getFileName().toString().startsWith(TimelineMetadataFile.FILE_NAME));
            assertThatThrownBy(store::flush).isInstanceOf(StorageException.class)
                    .hasMessageContaining("fsync of")
                    .satisfies(e -> assertThat(((StorageException) e).category()).isEqualTo(StorageException.Category.FSYNC_FAILED));
            fsync.heal();
            int forces = fsync.forces();
            assertThatThrownBy(store::flush).as("never retried").isInstanceOf(StorageException.class)
                    .hasMessageContaining("restart the pageserver");
            assertThatThrownBy(() -> store.compact(REDO)).isInstanceOf(StorageException.class);
            assertThat(fsync.forces()).isEqualTo(forces);
            assertThat(store.diskConsistentLsn()).isEqualTo(durable);
            assertThat(store.fsyncFailure()).isNotNull();
            assertThat(TimelineMetadataFile.read(dir).layers()).hasSize(1);
            assertThat(otherFiles(dir)).as("the unforced layer is not left behind").hasSize(1);
        }
        try (LayerStore reopened = LayerStore.open(dir, StorageConfig.DEFAULTS)) {
            assertThat(reopened.diskConsistentLsn()).isEqualTo(durable);
            assertThat(reopened.getValue(page(3), durable, REDO)).isEqualTo(image(3, 1));
        }
    }

    @Test
    void aFailedFsyncOfTheMetadataListsNothingNewAndTheRestartRemovesTheLayer(@TempDir Path dir) throws Exception {
        FailingFsync fsync = new FailingFsync();
        try (LayerStore store = LayerStore.create(dir, TL, Lsn.of(0x100), StorageConfig.DEFAULTS, fsync)) {
            putAll(store, 0x100, 1);
            store.freeze();
            fsync.failFiles(p -> p.getFileName().toString().startsWith(TimelineMetadataFile.FILE_NAME));
            assertThatThrownBy(store::flush).isInstanceOf(StorageException.class)
                    .hasMessageContaining("timeline metadata");
            assertThat(store.diskConsistentLsn()).isEqualTo(Lsn.of(0x100));
            assertThat(store.layerMap().deltas()).as("not used before it is listed").isEmpty();
            // After a failed force the metadata on disk may or may not list the new layer (a
            // force of the directory after the rename can fail too): its file stays for the
            // restart to decide.
            assertThat(otherFiles(dir)).as("kept after a failed force").hasSize(1);
        }
        try (LayerStore reopened = LayerStore.open(dir, StorageConfig.DEFAULTS)) {
            assertThat(reopened.diskConsistentLsn()).isEqualTo(Lsn.of(0x100));
            assertThat(reopened.layerMap().deltas()).isEmpty();
        }
        assertThat(otherFiles(dir)).as("the restart removed the layer the metadata does not list").isEmpty();
    }

    @Test
    void aTimelineWhoseDiskFillsStaysActiveSaysWhyAndFlushesOnceSpaceIsFreed(@TempDir Path tmp) throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try (SmallFilesystem fs = SmallFilesystem.mount(tmp, 4)) {
            Path dir = fs.root().resolve("tl");
            LayerStore store = LayerStore.create(dir.resolve("layers"), TL, Lsn.of(0x100), StorageConfig.DEFAULTS);
            TimelineConfig config = new TimelineConfig(TL, Lsn.of(0x100), TimelineBase.WAL_ONLY, false, List.of());
            Timeline t = new Timeline(dir, config, store, group,
                    new Timeline.Options(Duration.ofSeconds(1), 4, Duration.ofSeconds(5), "ps-test"));
            try {
                t.activate();
                Lsn last = putAll(store, 0x100, 1);
                fs.fill();
                store.requestFreeze();
                store.put(page(0), last.plus(0x10), new Value.Image(image(0, 2))); // freezes before this record
                awaitTrue(() -> t.reason().contains("No space left on device"), "the flush failure shows in the status");
                assertThat(t.state()).as("a full disk is not fatal").isEqualTo(TimelineState.ACTIVE);
                assertThat(t.reason()).startsWith("flush failing, retried");
                assertThat(store.diskConsistentLsn()).isEqualTo(Lsn.of(0x100));

                fs.free();
                awaitTrue(() -> store.diskConsistentLsn().equals(last), "the flush resumes once space is freed");
                awaitTrue(() -> t.reason().isEmpty(), "the status clears");
                assertThat(t.state()).isEqualTo(TimelineState.ACTIVE);
            } finally {
                t.shutdown(false);
            }
        } finally {
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).await(30, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    @Test
    void aTimelineWhoseLayerFsyncFailsBecomesBrokenAndSaysWhy(@TempDir Path dir) throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        FailingFsync fsync = new FailingFsync();
        try {
            LayerStore store = LayerStore.create(dir.resolve("layers"), TL, Lsn.of(0x100), StorageConfig.DEFAULTS, fsync);
            TimelineConfig config = new TimelineConfig(TL, Lsn.of(0x100), TimelineBase.WAL_ONLY, false, List.of());
            Timeline t = new Timeline(dir, config, store, group,
                    new Timeline.Options(Duration.ofSeconds(1), 4, Duration.ofSeconds(5), "ps-test"));
            try {
                t.activate();
                Lsn last = putAll(store, 0x100, 1);
                fsync.failFiles(p -> p.getFileName().toString().endsWith(".strata-tmp"));
                store.requestFreeze();
                store.put(page(0), last.plus(0x10), new Value.Image(image(0, 2)));
                awaitTrue(() -> t.state() == TimelineState.BROKEN, "the timeline is broken");
                assertThat(t.reason()).contains("flush failed").contains("fsync of");
                assertThat(store.diskConsistentLsn()).isEqualTo(Lsn.of(0x100));
                assertThat(store.fsyncFailure()).isNotNull();
            } finally {
                t.shutdown(false);
            }
        } finally {
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).await(30, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    private static void awaitTrue(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 60 s: " + what);
            }
            Thread.sleep(50);
        }
    }
}
