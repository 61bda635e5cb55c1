package dev.strata.pageserver.timeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.LayerName;
import dev.strata.pageserver.layer.Value;
import dev.strata.pageserver.remote.RemoteLayout;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.remote.RemoteStorage;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Only the current generation deletes (issue 13 item 2, decision 0024), on a real S3-compatible
 * server: generation 1 fills a timeline with page images in six layers and uploads them;
 * generation 2 attaches it; generation 1, stale but unaware, runs GC: its local layers go, and
 * its uploader, finding generation 2's index before deleting, deletes no object and stops.
 * Generation 2 then runs GC itself and deletes the same objects (written by generation 1), after
 * its index without them; every page still reads back on generation 2.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class GcGenerationsTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    Path tmp;

    private static Key block(int b) {
        return Key.relationBlock(1663, 5, 16384, 0, b);
    }

    @Test
    void aStaleGenerationDeletesNothingAndTheCurrentOneDoes() throws Exception {
        try (S3TimelineFixture fx = S3TimelineFixture.start(tmp.resolve("s3"))) {
            RemoteStorage storage = fx.storage();
            TimelineId id = TimelineId.random();
            TimelineManager one = fx.manager(tmp.resolve("ps-1"), 1, StorageConfig.DEFAULTS, storage);
            Timeline t1 = one.create(new TimelineManager.CreateRequest(id, Lsn.of(0x1000000), false, false, List.of()));
            for (int n = 1; n <= 6; n++) {
                for (int b = 0; b < 10; b++) {
                    t1.store().put(block(b), Lsn.of(0x1000000 + 0x100L * n), new Value.Image(("page " + b + " v" + n).getBytes()));
                }
                t1.store().freezeAndFlush();
            }
            Lsn end = t1.store().diskConsistentLsn();
            assertThat(t1.awaitRemoteConsistent(end, WAIT)).isTrue();
            Set<String> before = keys(storage, id);

            TimelineManager two = fx.manager(tmp.resolve("ps-2"), 2, StorageConfig.DEFAULTS, storage);
            Timeline t2 = two.attach(id, List.of());
            assertThat(t2.awaitRemoteConsistent(end, WAIT)).isTrue();
            awaitTrue(() -> keys(storage, id).contains(RemoteLayout.indexKey(id, dev.strata.remote.Generation.of(2))),
                    "generation 2's index");

            // The stale generation collects locally, but deletes no object.
            t1.setRetention(new Retention(Duration.ZERO, 0));
            TimelineManager.GcResult stale = one.gc(id, Instant.now());
            assertThat(stale.removed()).isNotEmpty();
            awaitTrue(() -> t1.remoteStatus().stale(), "generation 1 notices generation 2: " + t1.remoteStatus());
            assertThat(t1.remoteStatus().layersDeleted()).isZero();
            assertThat(t1.remoteStatus().lastError()).contains("generation 2 has attached");
            Set<String> afterStale = keys(storage, id);
            assertThat(afterStale).containsAll(before);

            // The current generation collects and deletes those objects (generation 1's keys).
            t2.setRetention(new Retention(Duration.ZERO, 0));
            TimelineManager.GcResult current = two.gc(id, Instant.now());
            assertThat(current.removed()).isNotEmpty();
            awaitTrue(() -> t2.remoteStatus().layersDeleted() >= current.removed().size(),
                    "generation 2 deletes: " + t2.remoteStatus());
            Set<String> afterCurrent = keys(storage, id);
            for (LayerName n : current.removed()) {
                assertThat(afterCurrent).noneMatch(k -> k.startsWith(RemoteLayout.timelinePrefix(id) + n + "-"));
                assertThat(before).anyMatch(k -> k.equals(RemoteLayout.layerKey(id, n, dev.strata.remote.Generation.of(1))));
            }
            for (int b = 0; b < 10; b++) {
                assertThat(new String(t2.getValue(block(b), end, Duration.ZERO))).isEqualTo("page " + b + " v6");
            }
            // Deleting the timeline on generation 2 empties its prefix.
            TimelineManager.Deleted d = two.delete(id);
            assertThat(d.remoteIndexes()).isEqualTo(2);
            assertThat(d.remoteLayers()).isPositive();
            assertThat(keys(storage, id)).isEmpty();
        }
    }

    private static Set<String> keys(RemoteStorage s, TimelineId id) {
        Set<String> out = new TreeSet<>();
        s.list(RemoteLayout.timelinePrefix(id)).forEach(o -> out.add(o.key()));
        return out;
    }

    private static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            Thread.sleep(50);
        }
    }
}
