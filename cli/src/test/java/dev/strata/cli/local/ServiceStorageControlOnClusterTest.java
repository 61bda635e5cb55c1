package dev.strata.cli.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.control.TransientStepException;
import dev.strata.control.storage.StorageControl;
import dev.strata.pgcore.id.TimelineId;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The storage steps' {@code ServiceStorageControl} (what a control-plane Lambda runs) over the
 * local cluster's services. The create-project workflow's CreateTimeline step, retried while one
 * safekeeper (a child process) is down: the step must fail as transient (the engine retries it)
 * and leave the timeline where it is. Taking "no answer" for "does not hold it" made the step
 * treat a complete timeline as partly created and delete it from the safekeepers that answered.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ServiceStorageControlOnClusterTest {

    @TempDir
    Path tmp;

    @Test
    void anUnreachableSafekeeperMakesCreateTimelineTransientAndDropsNothing() throws Exception {
        LocalCluster.Options options = new LocalCluster.Options(0, true, Duration.ofSeconds(300));
        try (LocalCluster c = LocalCluster.start(new ClusterLayout(tmp.resolve("cluster")), options, s -> { })) {
            TimelineId tl = c.timeline();
            StorageControl control = c.storageControl();
            control.createTimeline(tl, 17); // a retry after a lost answer: nothing to do
            LocalSafekeeper down = c.safekeepers().get(2);
            down.kill();

            assertThatThrownBy(() -> control.createTimeline(tl, 17))
                    .isInstanceOf(TransientStepException.class)
                    .hasMessageContaining("did not answer");
            assertThat(c.safekeepers().get(0).hasTimeline(tl)).as("sk-1 keeps the timeline").isTrue();
            assertThat(c.safekeepers().get(1).hasTimeline(tl)).as("sk-2 keeps the timeline").isTrue();
            assertThat(c.pageserver().hasTimeline(tl)).as("the pageserver keeps the timeline").isTrue();

            down.restart();
            ClusterClient.waitFor(() -> answers(down, tl), Duration.ofSeconds(60), "sk-3 answering again");
            control.createTimeline(tl, 17); // the engine's retry: complete, nothing dropped
            for (LocalSafekeeper sk : c.safekeepers()) {
                assertThat(sk.hasTimeline(tl)).as(sk.id() + " holds the timeline").isTrue();
            }
        }
    }

    private static boolean answers(LocalSafekeeper sk, TimelineId tl) {
        try {
            return sk.hasTimeline(tl);
        } catch (RuntimeException e) {
            return false;
        }
    }
}
