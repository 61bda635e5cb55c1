package dev.strata.pageserver.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.strata.pageserver.timeline.LayerStore;
import dev.strata.pageserver.timeline.StorageConfig;
import dev.strata.pgcore.id.TimelineId;
import dev.strata.pgcore.lsn.Lsn;
import dev.strata.pgcore.replication.ReplicationClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The receiver's start positions and sources are checked before any thread starts (streaming: the oracles). */
class WalReceiverArgumentsTest {

    @Test
    void startsMustBeRecordBoundariesOrSegmentStartsAndSourcesNonEmpty(@TempDir Path dir) {
        Lsn start = Lsn.of(0x0100_0000L);
        try (LayerStore store = LayerStore.create(dir, TimelineId.random(), start, StorageConfig.DEFAULTS)) {
            WalIngest ingest = new WalIngest(store, RmgrRegistry.defaults(), false, TimelineBase.WAL_ONLY, Lsn.of(0xFF_FF00L));
            assertThat(ingest.prevRecordLsn()).isEqualTo(Lsn.of(0xFF_FF00L));
            // One position per timeline: the prev given to the first ingest is the store's now.
            assertThat(store.prevRecordLsn()).isEqualTo(Lsn.of(0xFF_FF00L));
            assertThat(new WalIngest(store, RmgrRegistry.defaults(), false, TimelineBase.WAL_ONLY).prevRecordLsn())
                    .isEqualTo(Lsn.of(0xFF_FF00L));
            ReplicationClient.Options a = new ReplicationClient.Options("127.0.0.1", 1, "u", "p", "x", Duration.ofSeconds(1));
            assertThatThrownBy(() -> new WalReceiver(ingest, start.plus(100), a, null))
                    .hasMessageContaining("not a segment start");
            assertThatThrownBy(() -> new WalReceiver(ingest, start.plus(100), Lsn.INVALID, List.of(a), null))
                    .hasMessageContaining("not a record boundary");
            assertThatThrownBy(() -> new WalReceiver(ingest, start.plus(96), Lsn.INVALID, List.of(), null))
                    .hasMessageContaining("no WAL sources");
            WalReceiver mid = new WalReceiver(ingest, start.plus(96), start, List.of(a, a), null);
            assertThat(mid.currentSource()).isEqualTo(a);
            assertThat(mid.state()).isEqualTo("starting");
            assertThat(mid.status().phase()).isEqualTo(WalReceiver.Phase.STARTING);
        }
    }

    /** The management API shows these texts (docs/pageserver.md); the enum must not change them. */
    @Test
    void statusTextsAreTheOnesTheApiShows() {
        assertThat(new WalReceiver.Status(WalReceiver.Phase.STARTING, "").describe()).isEqualTo("starting");
        assertThat(new WalReceiver.Status(WalReceiver.Phase.CONNECTING, "h:1").describe()).isEqualTo("connecting to h:1");
        assertThat(new WalReceiver.Status(WalReceiver.Phase.STREAMING, "h:1 at 0/10").describe())
                .isEqualTo("streaming from h:1 at 0/10");
        assertThat(new WalReceiver.Status(WalReceiver.Phase.RECONNECTING, "refused").describe())
                .isEqualTo("reconnecting: refused");
        assertThat(new WalReceiver.Status(WalReceiver.Phase.STOPPED, "bad record").describe())
                .isEqualTo("stopped: bad record");
        assertThat(new WalReceiver.Status(WalReceiver.Phase.CLOSED, "").describe()).isEqualTo("closed");
        assertThat(dev.strata.pageserver.timeline.TimelineState.BROKEN.label()).isEqualTo("broken");
        assertThat(TimelineBase.WAL_ONLY.label()).isEqualTo("wal_only");
        assertThat(TimelineBase.fromLabel("imported")).isEqualTo(TimelineBase.IMPORTED);
    }
}
