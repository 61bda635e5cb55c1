package dev.strata.pageserver.timeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.strata.pageserver.key.Key;
import dev.strata.pageserver.layer.Value;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The periodic GC loop ({@link TimelineManager#startGc}) on a timeline without WAL sources whose
 * store is filled directly with page images in six flushed delta layers: with a zero retention
 * the loop raises the cutoff to the disk-consistent LSN by itself and removes the deltas below
 * it; every page reads back the same; the manager's close stops the loop.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class GcLoopTest {

    @TempDir
    Path tmp;

    @Test
    void theLoopCollectsEveryTimelineByItself() throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try (TimelineManager m = new TimelineManager(tmp, StorageConfig.DEFAULTS, Timeline.Options.DEFAULTS, group)) {
            TimelineId id = TimelineId.random();
            Timeline t = m.create(new TimelineManager.CreateRequest(id, Lsn.of(0x1000000), false, false, List.of()));
            LayerStore s = t.store();
            for (int n = 1; n <= 6; n++) {
                for (int k = 0; k < 10; k++) {
                    s.put(Key.relationBlock(1663, 5, 16384, 0, k), Lsn.of(0x1000000 + 0x100L * n),
                            new Value.Image(("page " + k + " v" + n).getBytes()));
                }
                s.freezeAndFlush();
            }
            Lsn end = s.diskConsistentLsn();
            assertThat(end).isEqualTo(Lsn.of(0x1000600));
            t.setRetention(new Retention(Duration.ZERO, 0));
            m.startGc(Duration.ofMillis(100));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!t.gcCutoffLsn().equals(end) || s.layerMap().deltas().size() > 1) {
                assertThat(System.nanoTime()).as("GC by the loop: cutoff %s, deltas %s", t.gcCutoffLsn(),
                        s.layerMap().deltas()).isLessThan(deadline);
                Thread.sleep(50);
            }
            assertThat(TimelineConfig.read(t.directory()).gcCutoffLsn()).isEqualTo(end);
            for (int k = 0; k < 10; k++) {
                assertThat(new String(t.getValue(Key.relationBlock(1663, 5, 16384, 0, k), end, Duration.ZERO)))
                        .isEqualTo("page " + k + " v6");
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(th -> th.getName().equals("gc") && th.isAlive());
    }
}
